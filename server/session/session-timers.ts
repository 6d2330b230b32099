/**
 * The clocks of a session, each one timer at most, all cleared by one dispose():
 *
 * - lifetime: the session ends `lifetimeMs` after it started (maxSessionLifetimeMs, or the
 *   policy's shorter time limit), and is warned `lifetimeWarningMs(lifetimeMs)` before;
 * - idle: it ends after `idleTimeoutMs` without stdin or output (0 = never). Activity only
 *   stamps a time (`touch`); the one timer re-arms itself for the remainder when it fires
 *   early, so a flood of output does not set a timer per chunk;
 * - resume grace: after a drop, the session waits this long for a resume (one grace at a
 *   time, tagged with the connection it is for: a late timer of a superseded connection is
 *   ignored by the state machine).
 */

export interface SessionTimersOptions {
  /** Monotonic clock, ms. */
  readonly now: () => number;
  readonly lifetimeMs: number;
  /** 0 = no idle timeout. */
  readonly idleTimeoutMs: number;
  readonly onLifetime: () => void;
  /** The lifetime ends in `remainingMs` (a quota-warning for the client). */
  readonly onLifetimeWarning?: (remainingMs: number) => void;
  readonly onIdle: () => void;
  readonly onGrace: (connection: number) => void;
}

/** setTimeout's largest delay (a signed 32-bit count of ms); longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long before the end of its lifetime a session is warned: a minute, or a tenth of a
 * shorter lifetime (time to save work, not a notice at the start of a short session).
 */
export function lifetimeWarningMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 10));
}

export class SessionTimers {
  readonly #options: SessionTimersOptions;
  #lastActivityMs: number;
  #lifetime: NodeJS.Timeout | undefined;
  #lifetimeWarning: NodeJS.Timeout | undefined;
  #idle: NodeJS.Timeout | undefined;
  #grace: NodeJS.Timeout | undefined;
  #disposed = false;

  constructor(options: SessionTimersOptions) {
    this.#options = options;
    this.#lastActivityMs = options.now();
    if (Number.isFinite(options.lifetimeMs)) {
      this.#lifetime = setTimeout(() => {
        this.#lifetime = undefined;
        options.onLifetime();
      }, Math.min(Math.max(0, options.lifetimeMs), MAX_TIMER_MS));
      const warning = options.onLifetimeWarning;
      const aheadMs = lifetimeWarningMs(options.lifetimeMs);
      if (warning !== undefined && aheadMs > 0) {
        this.#lifetimeWarning = setTimeout(() => {
          this.#lifetimeWarning = undefined;
          warning(aheadMs);
        }, Math.min(options.lifetimeMs - aheadMs, MAX_TIMER_MS));
      }
    }
    if (options.idleTimeoutMs > 0) this.#armIdle(options.idleTimeoutMs);
  }

  /** Stdin or output happened now. */
  touch(): void {
    this.#lastActivityMs = this.#options.now();
  }

  startGrace(connection: number, graceMs: number): void {
    if (this.#disposed) return;
    clearTimeout(this.#grace);
    this.#grace = setTimeout(() => {
      this.#grace = undefined;
      this.#options.onGrace(connection);
    }, Math.min(Math.max(0, graceMs), MAX_TIMER_MS));
  }

  cancelGrace(): void {
    clearTimeout(this.#grace);
    this.#grace = undefined;
  }

  dispose(): void {
    this.#disposed = true;
    for (const timer of [this.#lifetime, this.#lifetimeWarning, this.#idle, this.#grace]) clearTimeout(timer);
    this.#lifetime = undefined;
    this.#lifetimeWarning = undefined;
    this.#idle = undefined;
    this.#grace = undefined;
  }

  #armIdle(delayMs: number): void {
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#disposed) return;
      const idleMs = this.#options.now() - this.#lastActivityMs;
      const limit = this.#options.idleTimeoutMs;
      if (idleMs >= limit) this.#options.onIdle();
      else this.#armIdle(limit - idleMs);
    }, Math.min(Math.max(1, delayMs), MAX_TIMER_MS));
  }
}
