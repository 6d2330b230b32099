import type { Duplex } from 'node:stream';

/**
 * The slowloris defence: every TCP connection must have delivered a complete request (an
 * upgrade, or a plain HTTP request) within `timeoutMs` of opening — and an upgrade must have
 * been admitted within that time too — or it is destroyed. The deadline is absolute, not an
 * idle timeout: a client that trickles one byte a second never resets it.
 *
 * Node's own server.headersTimeout and requestTimeout (set to the same value by
 * http-server.ts) cover later requests on a keep-alive connection, where this deadline is
 * re-armed after each response.
 */
export class HandshakeDeadlines {
  readonly #timeoutMs: number;
  readonly #onExpire: (socket: Duplex) => void;
  readonly #timers = new Map<Duplex, NodeJS.Timeout>();
  /** Sockets that already clear their deadline on close (one listener per socket, however often re-armed). */
  readonly #watched = new WeakSet<Duplex>();

  /** @param onExpire called when a deadline passes, before the socket is destroyed (for logs and metrics) */
  constructor(timeoutMs: number, onExpire: (socket: Duplex) => void) {
    this.#timeoutMs = timeoutMs;
    this.#onExpire = onExpire;
  }

  /** Connections whose deadline is running. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Starts (or restarts) the deadline of `socket`; it ends with the socket. */
  arm(socket: Duplex): void {
    if (socket.destroyed) return;
    const previous = this.#timers.get(socket);
    if (previous !== undefined) clearTimeout(previous);
    if (!this.#watched.has(socket)) {
      this.#watched.add(socket);
      socket.once('close', () => this.disarm(socket));
    }
    const timer = setTimeout(() => {
      this.#timers.delete(socket);
      if (socket.destroyed) return;
      this.#onExpire(socket);
      socket.destroy();
    }, this.#timeoutMs);
    timer.unref();
    this.#timers.set(socket, timer);
  }

  /** The request arrived (or the upgrade completed): the connection is no longer handshaking. */
  disarm(socket: Duplex): void {
    const timer = this.#timers.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(socket);
  }

  isArmed(socket: Duplex): boolean {
    return this.#timers.has(socket);
  }

  /** Clears every timer (the server is closing). */
  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
