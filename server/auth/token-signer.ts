import { createPrivateKey, createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import { SandgateError } from '../errors/sandgate-error.js';
import { AuthError } from './auth-error.js';
import type { AuthConfig, SigningKeySource } from './auth-config.js';
import { IDENTIFIER_PATTERN, parseTokenLimits } from './claims.js';
import type { TokenLimits } from './effective-limits.js';
import type { JwtAlgorithm } from './jwt-algorithm.js';
import { signJws } from './jwt-signature.js';
import { pin, readKeyFile, secretFileBytes } from './key-store.js';
import type { Scope } from './principal.js';

/** A private key or secret, pinned to its one algorithm like the verification keys. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject;
}

/** Reads and pins one configured signing key. Encrypted PEM is not supported. */
export async function loadSigningKey(source: SigningKeySource): Promise<SigningKey> {
  switch (source.kind) {
    case 'privateKeyFile': {
      const pem = await readKeyFile(source.path, source.option);
      let key: KeyObject;
      try {
        key = createPrivateKey(pem);
      } catch (error) {
        throw new SandgateError('SG_CONFIG_INVALID', `${source.option} names ${source.path}, which is not an unencrypted PEM private key.`, { option: source.option }, { cause: error });
      }
      return pin(source.kid, key, source.alg, source.option);
    }
    case 'secret':
      return pin(source.kid, createSecretKey(Buffer.from(source.secret, 'utf8')), source.alg, source.option);
    case 'secretFile':
      return pin(source.kid, createSecretKey(secretFileBytes(await readKeyFile(source.path, source.option))), source.alg, source.option);
  }
}

/** The signing key named `kid`, or the only one when `kid` is undefined; else a problem sentence. */
export function chooseSigningKey(sources: readonly SigningKeySource[], kid: string | undefined): SigningKeySource | string {
  if (sources.length === 0) return 'no signing key is configured (auth.signingKeys)';
  if (kid !== undefined) {
    return sources.find((source) => source.kid === kid) ?? `no signing key has kid "${kid}" (configured: ${sources.map((s) => s.kid).join(', ')})`;
  }
  const [only] = sources;
  return sources.length === 1 && only !== undefined
    ? only
    : `several signing keys are configured: choose one with --kid (${sources.map((s) => s.kid).join(', ')})`;
}

export interface TokenRequest {
  readonly tenant: string;
  /** The `sub` claim. */
  readonly user: string;
  /** Lifetime, ms; at least 1 s and at most the policy's maxLifetimeMs. Rounded down to seconds. */
  readonly ttlMs: number;
  /** Written as the space-separated `scope` claim; must not be empty. */
  readonly scopes: readonly Scope[];
  readonly limits?: TokenLimits;
  /** The `jti`; a random UUID when absent. */
  readonly tokenId?: string;
  /** Issue time, ms since the epoch; default now. */
  readonly nowMs?: number;
}

export interface MintedToken {
  readonly token: string;
  readonly kid: string;
  readonly tokenId: string;
  readonly expiresAtMs: number;
}

export type SigningPolicy = Pick<AuthConfig, 'issuer' | 'audience' | 'maxLifetimeMs'>;

/**
 * What is wrong with `request` (a sentence naming the field), or undefined: refuses to mint a
 * token that the verifier would refuse.
 */
export function checkTokenRequest(request: TokenRequest, policy: SigningPolicy): string | undefined {
  if (!IDENTIFIER_PATTERN.test(request.tenant)) return 'tenant must be 1–128 chars of [A-Za-z0-9._@-], starting with a letter or digit';
  if (!IDENTIFIER_PATTERN.test(request.user)) return 'user must be 1–128 chars of [A-Za-z0-9._@-], starting with a letter or digit';
  if (!Number.isFinite(request.ttlMs) || request.ttlMs < 1000 || request.ttlMs > policy.maxLifetimeMs) {
    return `ttl must be from 1 s to auth.maxLifetimeMs (${policy.maxLifetimeMs} ms)`;
  }
  if (request.scopes.length === 0) return 'scope must name at least one of pty, exec, attach';
  if (request.limits !== undefined && parseTokenLimits(request.limits) instanceof AuthError) {
    return 'limits must hold positive numbers for memoryBytes, pids, cpuCores, sessions, timeLimitMs only';
  }
  return undefined;
}

/** Mints a token carrying the first configured issuer and audience. Throws SG_CONFIG_INVALID on a bad request. */
export function signToken(key: SigningKey, request: TokenRequest, policy: SigningPolicy): MintedToken {
  const problem = checkTokenRequest(request, policy);
  if (problem !== undefined) throw new SandgateError('SG_CONFIG_INVALID', `Cannot mint the token: ${problem}.`);
  const iat = Math.floor((request.nowMs ?? Date.now()) / 1000);
  const exp = iat + Math.floor(request.ttlMs / 1000);
  const tokenId = request.tokenId ?? randomUUID();
  const payload: Record<string, unknown> = {
    iss: policy.issuer[0],
    aud: policy.audience[0],
    sub: request.user,
    tenant: request.tenant,
    iat,
    exp,
    jti: tokenId,
    scope: [...new Set(request.scopes)].join(' '),
  };
  if (request.limits !== undefined && Object.keys(request.limits).length > 0) payload['limits'] = { ...request.limits };
  return Object.freeze({ token: signJws(payload, key.key, key.alg, key.kid), kid: key.kid, tokenId, expiresAtMs: exp * 1000 });
}
