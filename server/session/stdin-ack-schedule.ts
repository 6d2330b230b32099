/**
 * When a session acknowledges stdin (docs/protocol.md, "Flow control"). Every output frame
 * carries the stdin acknowledgement (`output.stdinAck`), so a keystroke is acknowledged by its
 * own echo; a separate `stdin-ack` message goes out only when no output carries it in time:
 *
 * - at once when half the stdin window or more is unacknowledged, so that a client streaming
 *   stdin (a paste, an upload into `exec`) never waits on an ack while it has bytes to send;
 * - otherwise `delayMs` after the write, if no output frame has carried it by then (a program
 *   that reads without echoing: a password prompt, `cat > file`).
 *
 * Why: a stdin-ack per keystroke was a second socket write of the gateway's thread (20–50 µs
 * on this VM, the loopback delivery and the peer's wake-up included) and a second message for
 * the client to wake for and parse. With the acknowledgement on the echo, strace of the
 * gateway bench counts one socket write per keystroke (436 for 425) instead of two (3895 for
 * 1953). The echo round trip itself did not measurably change (gateway bench A/B, ±3 %).
 *
 * One timer per session at most, armed only while an ack is owed and never re-armed per
 * keystroke: when it fires with nothing owed (output carried the ack) it just stops.
 */

export interface StdinAckScheduleOptions {
  /** The stdin window the client was given (hello.limits.stdinWindowBytes), bytes. */
  readonly windowBytes: number;
  /** Longest an ack waits for output to carry it, ms. */
  readonly delayMs: number;
  /** Sends a stdin-ack for everything written so far (a no-op while no client can take it). */
  readonly send: () => void;
  /** The one-shot timer; default setTimeout/clearTimeout (a test passes its own clock). */
  readonly timer?: OneShotTimer;
}

export interface OneShotTimer {
  start(callback: () => void, delayMs: number): unknown;
  cancel(handle: unknown): void;
}

const NODE_TIMER: OneShotTimer = {
  start: (callback, delayMs) => setTimeout(callback, delayMs),
  cancel: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** An ack no output carried goes out on its own this long after the write, ms. */
export const STDIN_ACK_DELAY_MS = 5;

export class StdinAckSchedule {
  readonly #options: StdinAckScheduleOptions;
  readonly #clock: OneShotTimer;
  #owed = false;
  #timer: unknown;
  #disposed = false;

  constructor(options: StdinAckScheduleOptions) {
    if (!(Number.isSafeInteger(options.windowBytes) && options.windowBytes >= 1 && options.delayMs >= 0)) {
      throw new RangeError(`StdinAckSchedule needs windowBytes ≥ 1 and delayMs ≥ 0, got ${options.windowBytes} and ${options.delayMs}`);
    }
    this.#options = options;
    this.#clock = options.timer ?? NODE_TIMER;
  }

  /** An ack is owed and no output has carried it yet. */
  get owed(): boolean {
    return this.#owed;
  }

  /** Stdin was written to the process; `unackedBytes` are written and not yet acknowledged to the client. */
  written(unackedBytes: number): void {
    if (this.#disposed || unackedBytes <= 0) return;
    if (unackedBytes * 2 >= this.#options.windowBytes) return this.now();
    this.#owed = true;
    this.#timer ??= this.#clock.start(() => {
      this.#timer = undefined;
      if (this.#owed) this.now();
    }, this.#options.delayMs);
  }

  /** An output frame went out: it carried the acknowledgement. */
  carried(): void {
    this.#owed = false;
  }

  /** Sends a stdin-ack now (also after a hello: a new connection learns the offset at once). */
  now(): void {
    if (this.#disposed) return;
    this.#owed = false;
    this.#options.send();
  }

  dispose(): void {
    this.#disposed = true;
    this.#owed = false;
    if (this.#timer !== undefined) this.#clock.cancel(this.#timer);
    this.#timer = undefined;
  }
}
