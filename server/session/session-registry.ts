import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { assertNever } from '../errors/assert-never.js';
import type { SessionLimitsForQuota } from '../quota/quota-store.js';
import { SessionError } from './session-error.js';

/**
 * The sessions of this gateway node, by id, with their per-user and per-tenant counts. The
 * quota step counts the same limits (`maxSessionsPerTenant`, `maxSessionsPerUser` of the
 * session's policy) cluster-wide with leases; this node's count can only be lower, so the
 * check here fails only when the two disagree (a lease lost to an expiry, say): defence in
 * depth, with the same codes, SG_TENANT_QUOTA and SG_USER_QUOTA.
 * It decides who may reach which session: a tenant only ever its own, a user only their own
 * unless the token has the `attach` scope in the same tenant.
 * Everything a caller may not reach is SG_SESSION_NOT_FOUND, the answer for an id that does
 * not exist, so probing ids tells nothing about other tenants or users.
 *
 * It owns no timers and no resources: a session registers itself when it is created and
 * removes itself in its dispose().
 */

export interface SessionOwner {
  readonly tenant: string;
  readonly user: string;
}

export interface RegisteredSession {
  readonly id: string;
  readonly owner: SessionOwner;
}

/**
 * Why a session is looked up: `resume` continues one's own session (its token is bound to the
 * user, so only the owner); `attach` joins a running one (v2, docs/protocol.md "Versioning").
 * The auth step checks that the token has the scope for the operation; this checks the target.
 */
export type LookupPurpose = 'resume' | 'attach';

export type Admission = { readonly ok: true } | { readonly ok: false; readonly error: SessionError };
export type Lookup<S> = { readonly ok: true; readonly session: S } | { readonly ok: false; readonly error: SessionError };

export interface SessionRegistryOptions {
  readonly randomBytes?: (size: number) => Uint8Array;
}

/** Random bytes in a session id: 128 bits, 22 base64url characters (protocol: 8..64). */
export const SESSION_ID_BYTES = 16;

interface TenantCounts {
  sessions: number;
  readonly perUser: Map<string, number>;
}

export class SessionRegistry<S extends RegisteredSession> {
  readonly #sessions = new Map<string, S>();
  readonly #tenants = new Map<string, TenantCounts>();
  readonly #randomBytes: (size: number) => Uint8Array;

  constructor(options: SessionRegistryOptions = {}) {
    this.#randomBytes = options.randomBytes ?? ((size) => cryptoRandomBytes(size));
  }

  /** Sessions registered on this node. */
  get size(): number {
    return this.#sessions.size;
  }

  /** A fresh random id, not registered now. Not a secret: resume needs the token as well. */
  newSessionId(): string {
    for (;;) {
      const bytes = this.#randomBytes(SESSION_ID_BYTES);
      if (bytes.byteLength !== SESSION_ID_BYTES) throw new RangeError(`randomBytes returned ${bytes.byteLength} bytes, not ${SESSION_ID_BYTES}`);
      const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
      if (!this.#sessions.has(id)) return id;
    }
  }

  /**
   * Registers `session` unless its tenant or user is at a limit of its policy (the `quota` of
   * quota/session-policy.ts: the user limit already lowered by the token). Synchronous, so
   * admissions cannot interleave between the check and the insert.
   */
  add(session: S, limits: SessionLimitsForQuota): Admission {
    if (this.#sessions.has(session.id)) throw new RangeError(`session id ${session.id} is registered already`);
    const { tenant, user } = session.owner;
    const counts = this.#tenants.get(tenant);
    const tenantCount = counts?.sessions ?? 0;
    const userCount = counts?.perUser.get(user) ?? 0;
    if (tenantCount >= limits.maxSessionsPerTenant) {
      return refuse('SG_TENANT_QUOTA', `The tenant has ${tenantCount} sessions on this gateway, the most maxSessionsPerTenant (${limits.maxSessionsPerTenant}) allows.`, {
        limit: 'maxSessionsPerTenant',
        value: limits.maxSessionsPerTenant,
      });
    }
    if (userCount >= limits.maxSessionsPerUser) {
      return refuse('SG_USER_QUOTA', `The user has ${userCount} sessions on this gateway, the most maxSessionsPerUser (${limits.maxSessionsPerUser}) allows; end one first.`, {
        limit: 'maxSessionsPerUser',
        value: limits.maxSessionsPerUser,
      });
    }
    this.#sessions.set(session.id, session);
    const tenantCounts = counts ?? { sessions: 0, perUser: new Map<string, number>() };
    tenantCounts.sessions += 1;
    tenantCounts.perUser.set(user, userCount + 1);
    this.#tenants.set(tenant, tenantCounts);
    return { ok: true };
  }

  /** Unregisters `session` (this very object: a later session cannot be removed by an old one). Idempotent. */
  remove(session: S): boolean {
    if (this.#sessions.get(session.id) !== session) return false;
    this.#sessions.delete(session.id);
    const { tenant, user } = session.owner;
    const counts = this.#tenants.get(tenant);
    if (counts !== undefined) {
      counts.sessions -= 1;
      const userCount = (counts.perUser.get(user) ?? 1) - 1;
      if (userCount > 0) counts.perUser.set(user, userCount);
      else counts.perUser.delete(user);
      if (counts.sessions <= 0) this.#tenants.delete(tenant);
    }
    return true;
  }

  /** The session `sessionId` if `principal` may reach it for `purpose`, else SG_SESSION_NOT_FOUND. */
  lookup(principal: Pick<Principal, 'tenant' | 'user' | 'scopes'>, sessionId: string, purpose: LookupPurpose): Lookup<S> {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || !mayReach(principal, session.owner, purpose)) {
      return { ok: false, error: sessionNotFound() };
    }
    return { ok: true, session };
  }

  countForUser(owner: SessionOwner): number {
    return this.#tenants.get(owner.tenant)?.perUser.get(owner.user) ?? 0;
  }

  countForTenant(tenant: string): number {
    return this.#tenants.get(tenant)?.sessions ?? 0;
  }

  /** A snapshot of the registered sessions (for shutdown and metrics); safe to dispose while iterating. */
  sessions(): S[] {
    return [...this.#sessions.values()];
  }
}

/** The isolation rule, pure: same tenant always; same user, or `attach` scope when attaching. */
export function mayReach(principal: Pick<Principal, 'tenant' | 'user' | 'scopes'>, owner: SessionOwner, purpose: LookupPurpose): boolean {
  if (principal.tenant !== owner.tenant) return false;
  if (principal.user === owner.user) return true;
  switch (purpose) {
    case 'resume':
      return false;
    case 'attach':
      return principal.scopes.has('attach');
    default:
      return assertNever(purpose, 'lookup purpose');
  }
}

/**
 * The one answer for a session the caller may not reach, has ended, or never existed, so that
 * an id learns nothing (docs/errors.md, "Sessions").
 */
export function sessionNotFound(): SessionError {
  return new SessionError('SG_SESSION_NOT_FOUND', 'No session with this id is reachable with this token.');
}

function refuse(code: 'SG_TENANT_QUOTA' | 'SG_USER_QUOTA', message: string, details: Record<string, unknown>): { readonly ok: false; readonly error: SessionError } {
  return { ok: false, error: new SessionError(code, message, details) };
}
