import { ERROR_CODES } from '../../client-sdk/src/errors/error-codes.js';
import type { QuotaDenial, SessionCounts, SessionLimitsForQuota } from './quota-store.js';

/**
 * Admission decisions, pure (STYLE.md rule 6): the upgrade handler samples, calls, applies.
 * Three gates, cheapest first, each refusing with a registry code, its HTTP status and a
 * Retry-After:
 *
 *   1. decideConnection — before anything is parsed: draining, maxConnections, maxHandshakesInFlight
 *   2. decideHost       — after auth: this node's sessions, spawns in flight, host pressure
 *   3. quotaDenial      — inside the quota store, atomically: the user's then the tenant's sessions
 *
 * A connection that offers the resume hint (`sandgate.resume`) asks for no new session and
 * passes gate 1 only; the session layer then lets it do nothing but resume (upgrade-handler.ts).
 *
 * The user's limit is checked before the tenant's, so that a user at their own limit learns
 * what they can fix (end a session) rather than that the tenant is full. The Redis store's
 * script follows the same order.
 */

export type AdmissionCode = 'SG_SHUTTING_DOWN' | 'SG_OVERLOADED' | 'SG_TENANT_QUOTA' | 'SG_USER_QUOTA';

export interface Refusal {
  readonly admit: false;
  readonly code: AdmissionCode;
  readonly httpStatus: number;
  /** Seconds, for the Retry-After header (RFC 9110 §10.2.3). */
  readonly retryAfterSec: number;
  /** One sentence naming the limit; no identity, no token. */
  readonly message: string;
  /** The limit involved, for logs and metrics. */
  readonly limitName: string;
  readonly limit: number;
  readonly current: number;
}

export type Admission = { readonly admit: true } | Refusal;

export const ADMIT: Admission = Object.freeze({ admit: true });

export interface RetryPolicy {
  /** Base Retry-After, seconds (config retryAfterSec). */
  readonly retryAfterSec: number;
  /**
   * In [0, 1): spreads Retry-After over [base, 2 × base) so that a crowd refused in the same
   * second does not come back in the same second (the thundering herd of an event day).
   */
  readonly jitter: number;
}

export interface ConnectionLoad {
  readonly draining: boolean;
  /** Open WebSocket connections of this node. */
  readonly openConnections: number;
  /** Upgrade requests being authenticated and admitted now (not counting this one); they count as connections too. */
  readonly handshakesInFlight: number;
}

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxHandshakesInFlight: number;
}

export interface HostLoad {
  /** Sessions (sandboxes) alive on this node, detached ones in resume grace included. */
  readonly sessions: number;
  /** Sandboxes being started now. */
  readonly spawnsInFlight: number;
  /** Host saturation in [0, 1] from the monitor; 0 until it reports. Not a finite number = saturated. */
  readonly pressure: number;
}

export interface HostLimits {
  readonly maxSessions: number;
  readonly maxSpawnsInFlight: number;
  /** Pressure at which new sessions are refused, [0, 1]. */
  readonly shedAtPressure: number;
}

export function retryAfterSec(retry: RetryPolicy): number {
  const jitter = Number.isFinite(retry.jitter) ? Math.min(Math.max(retry.jitter, 0), 0.999) : 0;
  return Math.max(1, Math.floor(retry.retryAfterSec * (1 + jitter)));
}

function refuse(code: AdmissionCode, limitName: string, limit: number, current: number, message: string, retry: RetryPolicy): Refusal {
  return Object.freeze({ admit: false, code, httpStatus: ERROR_CODES[code].httpStatus, retryAfterSec: retryAfterSec(retry), message, limitName, limit, current });
}

export function decideConnection(load: ConnectionLoad, limits: ConnectionLimits, retry: RetryPolicy): Admission {
  if (load.draining) return refuse('SG_SHUTTING_DOWN', 'draining', 0, 0, 'The gateway is shutting down and admits no new session.', retry);
  // Upgrades being admitted count as connections: each may become one, and the cap must hold
  // after they all complete, not only when each started.
  const connections = load.openConnections + load.handshakesInFlight;
  if (connections >= limits.maxConnections) {
    return refuse('SG_OVERLOADED', 'maxConnections', limits.maxConnections, connections, `The gateway holds maxConnections (${limits.maxConnections}) connections.`, retry);
  }
  if (load.handshakesInFlight >= limits.maxHandshakesInFlight) {
    return refuse('SG_OVERLOADED', 'maxHandshakesInFlight', limits.maxHandshakesInFlight, load.handshakesInFlight, `The gateway is admitting maxHandshakesInFlight (${limits.maxHandshakesInFlight}) connections already.`, retry);
  }
  return ADMIT;
}

export function decideHost(load: HostLoad, limits: HostLimits, retry: RetryPolicy): Admission {
  const pressure = Number.isFinite(load.pressure) ? load.pressure : 1;
  if (pressure >= limits.shedAtPressure) {
    return refuse('SG_OVERLOADED', 'shedAtPressure', limits.shedAtPressure, pressure, `The host is under pressure (${pressure.toFixed(2)} ≥ shedAtPressure ${limits.shedAtPressure}).`, retry);
  }
  if (load.sessions >= limits.maxSessions) {
    return refuse('SG_OVERLOADED', 'maxSessions', limits.maxSessions, load.sessions, `The gateway runs maxSessions (${limits.maxSessions}) sessions.`, retry);
  }
  if (load.spawnsInFlight >= limits.maxSpawnsInFlight) {
    return refuse('SG_OVERLOADED', 'maxSpawnsInFlight', limits.maxSpawnsInFlight, load.spawnsInFlight, `The gateway is starting maxSpawnsInFlight (${limits.maxSpawnsInFlight}) sandboxes already.`, retry);
  }
  return ADMIT;
}

/** The quota check every QuotaStore applies atomically with taking the lease. */
export function quotaDenial(counts: SessionCounts, limits: SessionLimitsForQuota): QuotaDenial | undefined {
  if (counts.user >= limits.maxSessionsPerUser) {
    return Object.freeze({ code: 'SG_USER_QUOTA', limitName: 'maxSessionsPerUser', limit: limits.maxSessionsPerUser, current: counts.user });
  }
  if (counts.tenant >= limits.maxSessionsPerTenant) {
    return Object.freeze({ code: 'SG_TENANT_QUOTA', limitName: 'maxSessionsPerTenant', limit: limits.maxSessionsPerTenant, current: counts.tenant });
  }
  return undefined;
}

export function refusalForDenial(denial: QuotaDenial, retry: RetryPolicy): Refusal {
  const whose = denial.code === 'SG_USER_QUOTA' ? 'The user has' : 'The tenant has';
  return refuse(denial.code, denial.limitName, denial.limit, denial.current, `${whose} ${denial.limitName} (${denial.limit}) sessions open.`, retry);
}

export interface AdmissionInput {
  readonly connection: ConnectionLoad;
  readonly host: HostLoad;
  readonly counts: SessionCounts;
}

export type AdmissionLimits = ConnectionLimits & HostLimits & SessionLimitsForQuota;

/** The three gates in order: the whole decision in one call, as the table tests state it. */
export function decideAdmission(input: AdmissionInput, limits: AdmissionLimits, retry: RetryPolicy): Admission {
  const connection = decideConnection(input.connection, limits, retry);
  if (!connection.admit) return connection;
  const host = decideHost(input.host, limits, retry);
  if (!host.admit) return host;
  const denial = quotaDenial(input.counts, limits);
  return denial === undefined ? ADMIT : refusalForDenial(denial, retry);
}
