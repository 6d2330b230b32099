import { randomUUID } from 'node:crypto';
import { quotaDenial } from './admission.js';
import type { AcquireResult, Lease, LeaseRequest, QuotaStore, SessionCounts } from './quota-store.js';

export interface EmbeddedQuotaStoreOptions {
  /** A lease expires this long after it was taken or last renewed, ms (config leaseTtlMs). */
  readonly leaseTtlMs: number;
  /** The clock, ms since the epoch. Default Date.now; tests move a fake one. */
  readonly now?: () => number;
  /** Fencing tokens. Default randomUUID. */
  readonly newLeaseId?: () => string;
}

interface LeaseRecord {
  readonly tenant: string;
  readonly user: string;
  readonly leaseId: string;
  expiresAtMs: number;
}

/**
 * The single-node QuotaStore (no REDIS_URL): the same semantics as the Redis store, in
 * process. Expired leases are dropped lazily — a tenant's before it is counted — and all of
 * them at most once per TTL, so memory stays bounded by the live leases plus one TTL's worth.
 * Every method completes synchronously; the promises are the interface's, for Redis.
 */
export class EmbeddedQuotaStore implements QuotaStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #newLeaseId: () => string;
  readonly #leases = new Map<string, LeaseRecord>();
  readonly #byTenant = new Map<string, Set<string>>();
  readonly #byUser = new Map<string, Set<string>>();
  #lastSweepMs: number;

  constructor(options: EmbeddedQuotaStoreOptions) {
    if (!Number.isSafeInteger(options.leaseTtlMs) || options.leaseTtlMs < 1) throw new RangeError('leaseTtlMs must be a positive whole number of ms');
    this.#ttlMs = options.leaseTtlMs;
    this.#now = options.now ?? Date.now;
    this.#newLeaseId = options.newLeaseId ?? randomUUID;
    this.#lastSweepMs = this.#now();
  }

  async acquireSession(request: LeaseRequest): Promise<AcquireResult> {
    const now = this.#tick();
    const existing = this.#leases.get(request.sessionId);
    if (existing !== undefined && existing.expiresAtMs > now) {
      if (existing.tenant !== request.tenant || existing.user !== request.user) {
        // Session ids are 128 random bits made by the gateway: a clash is a bug, not a client error.
        throw new Error(`session id ${request.sessionId} already holds a lease of another user`);
      }
      existing.expiresAtMs = now + this.#ttlMs;
      return { ok: true, lease: leaseOf(request.sessionId, existing) };
    }
    const counts = this.#countLive(request.tenant, request.user, now);
    const denial = quotaDenial(counts, request.limits);
    if (denial !== undefined) return { ok: false, denial };
    const record: LeaseRecord = { tenant: request.tenant, user: request.user, leaseId: this.#newLeaseId(), expiresAtMs: now + this.#ttlMs };
    this.#leases.set(request.sessionId, record);
    indexAdd(this.#byTenant, request.tenant, request.sessionId);
    indexAdd(this.#byUser, userKey(request.tenant, request.user), request.sessionId);
    return { ok: true, lease: leaseOf(request.sessionId, record) };
  }

  async renew(lease: Lease): Promise<Lease | undefined> {
    const now = this.#tick();
    const record = this.#held(lease, now);
    if (record === undefined) return undefined;
    record.expiresAtMs = now + this.#ttlMs;
    return leaseOf(lease.sessionId, record);
  }

  async release(lease: Lease): Promise<void> {
    const record = this.#leases.get(lease.sessionId);
    if (record !== undefined && record.leaseId === lease.leaseId) this.#remove(lease.sessionId, record);
  }

  async counts(query: { readonly tenant: string; readonly user?: string }): Promise<SessionCounts> {
    return this.#countLive(query.tenant, query.user, this.#tick());
  }

  async close(): Promise<void> {
    // Nothing to close: the leases die with the process, as they would expire in Redis.
  }

  /** Live leases on this store, all tenants: this node's sessions when it runs alone. */
  liveCount(): number {
    this.#sweep(this.#tick());
    return this.#leases.size;
  }

  #tick(): number {
    const now = this.#now();
    if (now - this.#lastSweepMs >= this.#ttlMs) this.#sweep(now);
    return now;
  }

  #held(lease: Lease, now: number): LeaseRecord | undefined {
    const record = this.#leases.get(lease.sessionId);
    if (record === undefined || record.leaseId !== lease.leaseId) return undefined;
    if (record.expiresAtMs <= now) {
      this.#remove(lease.sessionId, record);
      return undefined;
    }
    return record;
  }

  #countLive(tenant: string, user: string | undefined, now: number): SessionCounts {
    const ids = this.#byTenant.get(tenant);
    for (const id of ids ?? []) {
      const record = this.#leases.get(id);
      if (record !== undefined && record.expiresAtMs <= now) this.#remove(id, record);
    }
    const userCount = user === undefined ? 0 : (this.#byUser.get(userKey(tenant, user))?.size ?? 0);
    return { tenant: this.#byTenant.get(tenant)?.size ?? 0, user: userCount };
  }

  #sweep(now: number): void {
    this.#lastSweepMs = now;
    for (const [id, record] of this.#leases) if (record.expiresAtMs <= now) this.#remove(id, record);
  }

  #remove(sessionId: string, record: LeaseRecord): void {
    this.#leases.delete(sessionId);
    indexDelete(this.#byTenant, record.tenant, sessionId);
    indexDelete(this.#byUser, userKey(record.tenant, record.user), sessionId);
  }
}

function leaseOf(sessionId: string, record: LeaseRecord): Lease {
  return Object.freeze({ tenant: record.tenant, user: record.user, sessionId, leaseId: record.leaseId, expiresAtMs: record.expiresAtMs });
}

function userKey(tenant: string, user: string): string {
  return JSON.stringify([tenant, user]);
}

function indexAdd(index: Map<string, Set<string>>, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) index.set(key, new Set([id]));
  else ids.add(id);
}

function indexDelete(index: Map<string, Set<string>>, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) return;
  ids.delete(id);
  if (ids.size === 0) index.delete(key);
}
