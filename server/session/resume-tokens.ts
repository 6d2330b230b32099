import { createHash, randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';
import { SessionError } from './session-error.js';

/**
 * Resume tokens (docs/protocol.md, "Resume"): the secret in every `hello` that lets the same
 * user continue the same session after a network drop.
 *
 * - 32 random bytes (256 bits), base64url: 43 characters, within the protocol's 22..512.
 * - Kept only as SHA-256 digests, bound to {tenant, user, sessionId}: a heap dump or a log of
 *   the store yields nothing to resume with. One fast hash is enough for a 256-bit random
 *   secret (no dictionary to slow down, unlike a password).
 * - Verified with timingSafeEqual on the digests, and a digest is compared even when the
 *   session is unknown, so timing does not tell a guessed session id from a real one.
 * - Single use: a successful resume replaces the token (the next hello carries the new one).
 *   The token just presented stays usable until the client proves it has the new one, by
 *   sending any frame on the resumed connection (`confirm`; a client sends nothing before
 *   hello): a drop that loses the hello must not strand the session. After that, the old
 *   token is refused like a guess. (A resume also needs the same user's valid JWT, so the
 *   short overlap gives nothing to someone without it.)
 * - Grace expiry: after the session's connection drops, the token works for `resumeGraceMs`
 *   (measured with the injected clock), whatever the session's own timer does.
 * - Unknown session, wrong token, old token, expired, another tenant's or another user's:
 *   all the same SG_RESUME_REJECTED with the same message, so a caller learns nothing.
 */

export interface ResumeBinding {
  readonly tenant: string;
  readonly user: string;
  readonly sessionId: string;
}

export interface ResumeTokenStoreOptions {
  /** Clock, ms; monotonic in the gateway (performance.now), injected in tests. */
  readonly now: () => number;
  /** Source of the token bytes; crypto.randomBytes unless a test injects one. */
  readonly randomBytes?: (size: number) => Uint8Array;
}

export type RedeemResult = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly error: SessionError };

/** Random bytes in a token. */
export const RESUME_TOKEN_BYTES = 32;

interface TokenRecord {
  /** Digest of the token in the latest hello. */
  readonly digest: Buffer;
  /** Digest of the token the last resume presented, until `confirm`. */
  readonly previous: Buffer | undefined;
  readonly tenant: string;
  readonly user: string;
  /** How long the token outlives a dropped connection, ms. */
  readonly graceMs: number;
  /** When the token stops working (set while detached), ms on the store's clock. */
  readonly expiresAtMs: number | undefined;
}

const REJECTED_MESSAGE = 'The resume token is not valid for this session; open a new session.';

export class ResumeTokenStore {
  readonly #records = new Map<string, TokenRecord>();
  readonly #now: () => number;
  readonly #randomBytes: (size: number) => Uint8Array;
  /** Compared against when no record exists, so both paths do the same work. */
  readonly #decoy: Buffer;

  constructor(options: ResumeTokenStoreOptions) {
    this.#now = options.now;
    this.#randomBytes = options.randomBytes ?? ((size) => cryptoRandomBytes(size));
    this.#decoy = cryptoRandomBytes(32);
  }

  /** Sessions with a live token. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * A new token for the session, replacing any previous one (send it in the hello, never
   * log it). `graceMs` is the session's resumeGraceMs; 0 makes the token useless after a drop.
   */
  issue(binding: ResumeBinding, graceMs: number): string {
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new RangeError(`resumeGraceMs must be an integer of 0 or more, got ${graceMs}`);
    const token = this.#newToken();
    this.#records.set(binding.sessionId, {
      digest: digestOf(token),
      previous: undefined,
      tenant: binding.tenant,
      user: binding.user,
      graceMs,
      expiresAtMs: undefined,
    });
    return token;
  }

  /**
   * Checks `presented` for the session a `resume` names, as the principal who sent it, and on
   * success rotates it: the returned token goes in the hello; the presented one works until
   * `confirm`, every older one never again. Synchronous: check and rotation cannot interleave.
   */
  redeem(presented: string, claim: ResumeBinding): RedeemResult {
    const record = this.#records.get(claim.sessionId);
    const digest = digestOf(presented);
    // Both comparisons always run, so timing does not tell which (or whether any) matched.
    const latest = timingSafeEqual(digest, record?.digest ?? this.#decoy);
    const previous = timingSafeEqual(digest, record?.previous ?? this.#decoy);
    if (record === undefined || !(latest || previous) || record.tenant !== claim.tenant || record.user !== claim.user) return rejected();
    if (record.expiresAtMs !== undefined && this.#now() >= record.expiresAtMs) {
      this.#records.delete(claim.sessionId);
      return rejected();
    }
    const token = this.#newToken();
    this.#records.set(claim.sessionId, { ...record, digest: digestOf(token), previous: digest, expiresAtMs: undefined });
    return { ok: true, token };
  }

  /** The client sent a frame on the resumed connection, so it has the new token: the presented one is spent. */
  confirm(sessionId: string): void {
    const record = this.#records.get(sessionId);
    if (record?.previous !== undefined) this.#records.set(sessionId, { ...record, previous: undefined });
  }

  /** The session lost its connection: its token now expires after the grace period. */
  detached(sessionId: string): void {
    const record = this.#records.get(sessionId);
    if (record !== undefined && record.expiresAtMs === undefined) {
      this.#records.set(sessionId, { ...record, expiresAtMs: this.#now() + record.graceMs });
    }
  }

  /** The session has a connection again (not by resume, which does this itself): no expiry. */
  attached(sessionId: string): void {
    const record = this.#records.get(sessionId);
    if (record !== undefined && record.expiresAtMs !== undefined) this.#records.set(sessionId, { ...record, expiresAtMs: undefined });
  }

  /** The session ended: its token stops working. Idempotent. */
  revoke(sessionId: string): void {
    this.#records.delete(sessionId);
  }

  /** Drops the records of expired tokens (a session normally revokes its own when it ends). */
  prune(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [sessionId, record] of this.#records) {
      if (record.expiresAtMs !== undefined && now >= record.expiresAtMs) {
        this.#records.delete(sessionId);
        dropped += 1;
      }
    }
    return dropped;
  }

  #newToken(): string {
    const bytes = this.#randomBytes(RESUME_TOKEN_BYTES);
    if (bytes.byteLength !== RESUME_TOKEN_BYTES) throw new RangeError(`randomBytes returned ${bytes.byteLength} bytes, not ${RESUME_TOKEN_BYTES}`);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  }
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function rejected(): { readonly ok: false; readonly error: SessionError } {
  return { ok: false, error: new SessionError('SG_RESUME_REJECTED', REJECTED_MESSAGE) };
}
