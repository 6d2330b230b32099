import type { AuthConfig } from './auth-config.js';
import { AuthError, describeUntrusted } from './auth-error.js';
import { validateClaims, type ClaimsPolicy } from './claims.js';
import { isJwtAlgorithm } from './jwt-algorithm.js';
import { decodeJwt } from './jwt-decode.js';
import { verifyJwsSignature } from './jwt-signature.js';
import { loadKeyStore, type KeyStore, type VerificationKey } from './key-store.js';
import type { Principal } from './principal.js';

export type VerifierPolicy = ClaimsPolicy & Pick<AuthConfig, 'maxTokenBytes'>;

/**
 * Verifies bearer tokens into principals. Each step refuses with its own code, cheapest and
 * most specific first, and nothing is computed with a key before the token's `alg` has been
 * checked against that key's pinned algorithm:
 *
 *   size → compact-JWS shape, strict base64url, JSON header and payload (SG_AUTH_MALFORMED)
 *   → alg is one sandgate knows, never `none` (SG_AUTH_ALGORITHM)
 *   → key by kid (SG_AUTH_UNKNOWN_KEY) → alg equals the key's pinned alg (SG_AUTH_ALGORITHM)
 *   → signature (SG_AUTH_BAD_SIGNATURE) → claims (claims.ts)
 *
 * A token without `kid` is accepted only while exactly one key is configured: guessing among
 * several would make each bad token cost one verification per key, and the answer would
 * depend on which keys happen to be loaded. Immutable; rotate by building a new verifier.
 */
export class TokenVerifier {
  readonly #policy: VerifierPolicy;
  readonly #keys: KeyStore;

  constructor(policy: VerifierPolicy, keys: KeyStore) {
    this.#policy = Object.freeze({ ...policy });
    this.#keys = keys;
  }

  /** Loads the configured keys (files included) and builds a verifier. */
  static async fromConfig(config: AuthConfig): Promise<TokenVerifier> {
    return new TokenVerifier(config, await loadKeyStore(config.keys));
  }

  get keys(): KeyStore {
    return this.#keys;
  }

  /**
   * The principal `token` proves, or the refusal. Never throws for bad input; the returned
   * error's message and details never contain the token.
   *
   * @param nowMs the current time, ms since the epoch (a parameter so tests can move it)
   */
  verify(token: string, nowMs: number = Date.now()): Principal | AuthError {
    const decoded = decodeJwt(token, this.#policy.maxTokenBytes);
    if (decoded instanceof AuthError) return decoded;
    const { alg, kid } = decoded.header;
    if (!isJwtAlgorithm(alg)) {
      return new AuthError('SG_AUTH_ALGORITHM', 'The token alg is not accepted (RS256, ES256, EdDSA or HS256 only).', { alg: describeUntrusted(alg) });
    }
    const key = this.#keyFor(kid);
    if (key instanceof AuthError) return key;
    if (alg !== key.alg) {
      return new AuthError('SG_AUTH_ALGORITHM', `The token alg is not the algorithm pinned for its key (${key.alg}).`, { alg, kid: key.kid, pinned: key.alg });
    }
    if (!verifyJwsSignature(token, decoded.signingInput, decoded.signature, key.key, key.alg)) {
      return new AuthError('SG_AUTH_BAD_SIGNATURE', 'The token signature does not verify.', { kid: key.kid, alg: key.alg });
    }
    return validateClaims(decoded.payload, this.#policy, nowMs);
  }

  #keyFor(kid: string | undefined): VerificationKey | AuthError {
    if (kid === undefined) {
      return (
        this.#keys.sole() ??
        new AuthError('SG_AUTH_UNKNOWN_KEY', 'The token has no kid, and several keys are configured.', { configuredKeys: this.#keys.size })
      );
    }
    return this.#keys.get(kid) ?? new AuthError('SG_AUTH_UNKNOWN_KEY', 'The token kid names no configured key.', { kid });
  }
}
