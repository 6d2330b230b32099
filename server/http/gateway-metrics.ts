import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { Counter, Gauge, Histogram, MetricsRegistry } from './metrics-registry.js';

/**
 * The gateway's metrics, served at /metrics. The http step updates the connection, admission
 * and refusal series; the session step sets `sessions` by state and observes spawn latency.
 * Label values are closed sets (registry codes, states), so the series count stays bounded.
 */
export interface GatewayMetrics {
  readonly registry: MetricsRegistry;
  /** state: `handshake` (upgrade being admitted) or `open` (WebSocket handed to the session layer). */
  readonly connections: Gauge<'state'>;
  /** Sessions on this node by state, set by the session layer (e.g. starting, running, detached). */
  readonly sessions: Gauge<'state'>;
  /** Upgrades admitted and handed to the session layer. */
  readonly admissions: Counter;
  /** Upgrades and requests refused, by registry code (SG_AUTH_*, SG_OVERLOADED, SG_HANDSHAKE_TIMEOUT…). */
  readonly refusals: Counter<'code'>;
  /** Time from admission to a running sandbox, seconds; observed by the session layer. */
  readonly spawnSeconds: Histogram;
  /** Connections terminated because a ping went unanswered for pongTimeoutMs. */
  readonly pongTimeouts: Counter;
  /** 1 while the gateway drains for a shutdown. */
  readonly draining: Gauge;
}

/** Spawn latency buckets, seconds: a warm spawn is tens of ms, a cold or contended one seconds. */
export const SPAWN_SECONDS_BUCKETS: readonly number[] = Object.freeze([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

export function createGatewayMetrics(registry: MetricsRegistry = new MetricsRegistry()): GatewayMetrics {
  return Object.freeze({
    registry,
    connections: registry.gauge({ name: 'sandgate_connections', help: 'WebSocket connections of this node, by state (handshake, open).', labelNames: ['state'] }),
    sessions: registry.gauge({ name: 'sandgate_sessions', help: 'Sessions on this node, by state.', labelNames: ['state'] }),
    admissions: registry.counter({ name: 'sandgate_admissions_total', help: 'Upgrades admitted and handed to the session layer.' }),
    refusals: registry.counter({ name: 'sandgate_refusals_total', help: 'Requests and upgrades refused, by error code.', labelNames: ['code'] }),
    spawnSeconds: registry.histogram({ name: 'sandgate_spawn_duration_seconds', help: 'Time from admission to a running sandbox.', buckets: SPAWN_SECONDS_BUCKETS }),
    pongTimeouts: registry.counter({ name: 'sandgate_pong_timeouts_total', help: 'Connections terminated for not answering a ping within pongTimeoutMs.' }),
    draining: registry.gauge({ name: 'sandgate_draining', help: '1 while the gateway drains for a shutdown, else 0.' }),
  });
}

export function countRefusal(metrics: GatewayMetrics, code: ErrorCode): void {
  metrics.refusals.inc({ code });
}
