/**
 * When a session sends a separate `stdin-ack` (docs/protocol.md, "Flow control"). Every output
 * frame carries the stdin acknowledgement (`output.stdinAck`) anyway; the question is whether
 * to also send one on its own.
 *
 * - `eager` (pty sessions): at once after every write. Measured with three servers
 *   interleaved keystroke by keystroke (naive, eager, not eager; 2000 warm-up round trips,
 *   then 1000, three runs): back to back the echo came 12–15 % sooner when its stdin-ack went
 *   ahead of it than when the echo carried it (p50 0.18–0.19 against 0.21–0.23 ms), and 4–7 %
 *   sooner paced 5 ms apart. The early message wakes the client (and its vCPU, 30–40 µs per
 *   cross-CPU wake on these VMs, whose guests do not poll before halting) before the echo
 *   arrives. It costs one more socket write per keystroke.
 * - otherwise (exec sessions: programs streaming stdin): at once only when half the stdin
 *   window or more is unacknowledged, so that a writer never waits on an ack while it has
 *   bytes to send; else `delayMs` after the write if no output frame has carried it by then
 *   (a program that reads without writing: `cat > file`). A bulk upload then costs one ack
 *   per half window instead of one per frame, and output carries the rest (strace of the
 *   gateway bench with this rule applied to its pty sessions: 436 socket writes for 425
 *   writes to the process, against 3895 for 1953 with a stdin-ack after each).
 *
 * One timer per session at most, armed only while an ack is owed and never re-armed per
 * keystroke: when it fires with nothing owed (output carried the ack) it just stops.
 */

export interface StdinAckScheduleOptions {
  /** The stdin window the client was given (hello.limits.stdinWindowBytes), bytes. */
  readonly windowBytes: number;
  /** Longest an ack waits for output to carry it, ms. */
  readonly delayMs: number;
  /** Send a stdin-ack after every write (pty sessions). */
  readonly eager: boolean;
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
    if (this.#options.eager || unackedBytes * 2 >= this.#options.windowBytes) return this.now();
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
