import type { WebSocket } from 'ws';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { RequestLog } from './request-log.js';

export interface HeartbeatOptions {
  /** Ping period, ms; 0 = no pings. */
  readonly pingIntervalMs: number;
  /** A connection that has not answered within this long after a ping is terminated, ms. */
  readonly pongTimeoutMs: number;
}

/**
 * The WebSocket connections of this node: how many are open and how many upgrades are being
 * admitted (the inputs of decideConnection), the ping/pong heartbeat that finds dead peers
 * (RFC 6455 §5.5.2; a half-open TCP connection is otherwise only noticed when written to),
 * and the closing of everything at shutdown.
 *
 * One interval drives every ping and one timer per round ends the silent connections, rather
 * than timers per connection. The heartbeat only terminates; the session layer sees the close.
 */
export class ConnectionTracker {
  readonly #open = new Map<WebSocket, { awaitingPong: boolean }>();
  readonly #metrics: GatewayMetrics;
  readonly #log: RequestLog;
  readonly #heartbeat: HeartbeatOptions;
  #handshakes = 0;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  #allClosed: (() => void)[] = [];

  constructor(options: { readonly metrics: GatewayMetrics; readonly log: RequestLog; readonly heartbeat: HeartbeatOptions }) {
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#heartbeat = options.heartbeat;
  }

  get openConnections(): number {
    return this.#open.size;
  }

  get handshakesInFlight(): number {
    return this.#handshakes;
  }

  /** Counts an upgrade being admitted; the returned function (idempotent) ends it. */
  beginHandshake(): () => void {
    this.#handshakes += 1;
    this.#publish();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#handshakes -= 1;
      this.#publish();
    };
  }

  /**
   * Tracks an upgraded connection until it closes. An 'error' listener is attached first: ws
   * emits 'error' for a peer's protocol violation (then closes), and an EventEmitter 'error'
   * without a listener would throw and end the process for every session.
   */
  adopt(ws: WebSocket): void {
    this.#open.set(ws, { awaitingPong: false });
    this.#publish();
    ws.on('error', (error: Error & { code?: string }) => {
      this.#log({ event: 'ws.error', level: 'debug', code: error.code ?? 'unknown' });
    });
    ws.on('pong', () => {
      const state = this.#open.get(ws);
      if (state !== undefined) state.awaitingPong = false;
    });
    ws.once('close', () => {
      this.#open.delete(ws);
      this.#publish();
      if (this.#open.size === 0) for (const resolve of this.#allClosed.splice(0)) resolve();
    });
    if (this.#pingTimer === undefined && this.#heartbeat.pingIntervalMs > 0) this.#startHeartbeat();
  }

  /** Resolves once no connection is open (at once when none is). */
  whenAllClosed(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#allClosed.push(resolve));
  }

  /** Starts a close handshake on every connection (1001 at shutdown). */
  closeAll(code: number, reason: string): void {
    for (const ws of this.#open.keys()) ws.close(code, reason);
  }

  /** Ends every connection at once, without a close handshake. */
  terminateAll(): void {
    for (const ws of [...this.#open.keys()]) ws.terminate();
  }

  /** Stops the heartbeat timers (the gateway is closing). */
  stop(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#pingTimer = undefined;
    this.#pongTimer = undefined;
  }

  #startHeartbeat(): void {
    this.#pingTimer = setInterval(() => this.#pingRound(), this.#heartbeat.pingIntervalMs);
    this.#pingTimer.unref();
  }

  #pingRound(): void {
    const round: WebSocket[] = [];
    for (const [ws, state] of this.#open) {
      if (ws.readyState !== ws.OPEN) continue;
      state.awaitingPong = true;
      round.push(ws);
      // ws.ping() on a socket that just died reports through 'error'/'close', not a throw;
      // the callback form keeps an unflushed ping from surfacing as an unhandled error.
      ws.ping(undefined, undefined, () => undefined);
    }
    if (round.length === 0) return;
    clearTimeout(this.#pongTimer);
    this.#pongTimer = setTimeout(() => {
      for (const ws of round) {
        if (this.#open.get(ws)?.awaitingPong !== true) continue;
        this.#metrics.pongTimeouts.inc({});
        this.#log({ event: 'ws.pong-timeout', level: 'info', pongTimeoutMs: this.#heartbeat.pongTimeoutMs });
        ws.terminate();
      }
    }, this.#heartbeat.pongTimeoutMs);
    this.#pongTimer.unref();
  }

  #publish(): void {
    this.#metrics.connections.set({ state: 'open' }, this.#open.size);
    this.#metrics.connections.set({ state: 'handshake' }, this.#handshakes);
  }
}
