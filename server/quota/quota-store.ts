/**
 * Cluster-wide session accounting: every running session holds a LEASE in the quota store,
 * counted against its tenant's and its user's limits. A lease expires `leaseTtlMs` after its
 * last renewal, so the sessions of a gateway that crashed stop counting by themselves (no
 * reaper needed), and a holder that cannot renew learns it has lost its lease.
 *
 * Two implementations, same semantics (tested by the same table): the in-process
 * EmbeddedQuotaStore (single node, no REDIS_URL) and a Redis store, where acquire is one Lua
 * script (check both counts and insert, atomically) over per-tenant and per-user sorted sets
 * scored by expiry, so an expired lease is dropped by `ZREMRANGEBYSCORE … now` before counting.
 */

export interface SessionLimitsForQuota {
  /** Concurrent sessions of the tenant, cluster-wide. */
  readonly maxSessionsPerTenant: number;
  /** Concurrent sessions of the user (the tenant's, lowered by the token's `limits.sessions`). */
  readonly maxSessionsPerUser: number;
}

export interface LeaseRequest {
  readonly tenant: string;
  readonly user: string;
  /** The session this lease counts; unique (the gateway makes 128 random bits). */
  readonly sessionId: string;
  readonly limits: SessionLimitsForQuota;
}

/** A held lease. A value: the store decides whether it is still valid. */
export interface Lease {
  readonly tenant: string;
  readonly user: string;
  readonly sessionId: string;
  /**
   * The holder's fencing token: renew and release act only when it still matches, so a holder
   * whose lease expired and was re-acquired elsewhere cannot release the new holder's.
   */
  readonly leaseId: string;
  /** When the lease expires unless renewed, ms since the epoch (the store's clock). */
  readonly expiresAtMs: number;
}

/** Why a lease was refused: a registry code, the limit reached and the count found. */
export interface QuotaDenial {
  readonly code: 'SG_TENANT_QUOTA' | 'SG_USER_QUOTA';
  /** The option whose value was reached (for the message and logs). */
  readonly limitName: 'maxSessionsPerTenant' | 'maxSessionsPerUser';
  readonly limit: number;
  /** Live leases counted, at least `limit`. */
  readonly current: number;
}

export type AcquireResult = { readonly ok: true; readonly lease: Lease } | { readonly ok: false; readonly denial: QuotaDenial };

export interface SessionCounts {
  /** Live leases of the tenant, cluster-wide. */
  readonly tenant: number;
  /** Live leases of the user, cluster-wide (0 when no user was asked about). */
  readonly user: number;
}

export interface QuotaStore {
  /**
   * Takes a lease for `request.sessionId` when the tenant and the user are both below their
   * limits, atomically with respect to every other gateway. Idempotent: asking again for a
   * session that holds a live lease with the same owner returns that lease, renewed.
   * Rejects (throws) only when the store cannot be reached; the caller refuses with
   * SG_QUOTA_UNAVAILABLE rather than admit a session it could not count.
   */
  acquireSession(request: LeaseRequest): Promise<AcquireResult>;
  /** Extends the lease by the store's TTL; undefined when it is no longer held (expired, released). */
  renew(lease: Lease): Promise<Lease | undefined>;
  /** Gives the lease up at once. Idempotent; a stale leaseId releases nothing. */
  release(lease: Lease): Promise<void>;
  /** Live leases of a tenant, and of one of its users when `user` is given. */
  counts(query: { readonly tenant: string; readonly user?: string }): Promise<SessionCounts>;
  /** Releases the store's own resources (connections); leases stay until they expire. */
  close(): Promise<void>;
}
