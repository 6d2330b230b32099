import type { SignalName } from '../../client-sdk/src/protocol/index.js';
import { createBucket, take, type TokenBucket } from './input-limiter.js';
import type { SessionConnection } from './session-connection.js';
import type { SessionSettings } from './session-settings.js';
import type { SessionSource } from './session-source.js';
import { StdinPump } from './stdin-pump.js';

/**
 * The input path of one session, after the connection has checked every frame against the
 * codec and the order rules (offsets, stdin window):
 *
 *   stdin ─▶ StdinPump (paced to stdinBytesPerSecond) ─▶ the process ─▶ stdin-ack
 *   stdin-close ─▶ EOF after the last byte
 *   resize, signal, a repeated ack ─▶ controlFramesPerSecond (SG_INPUT_RATE, non-fatal) ─▶ the sandbox
 *
 * Nothing here waits for output: a paused PTY still takes keystrokes (pty-source.ts).
 *
 * Signals: every name but KILL goes to the launcher, which forwards it to the sandbox's
 * command (its PID 2 — the shell of a pty session; docs/internals/launcher-contract.md). To
 * stop a pty's foreground job a client sends the key (^C as stdin), as a terminal does, and the
 * line discipline signals the foreground process group; `signal INT` reaches the shell itself.
 * KILL ends the whole sandbox (SIGKILL to its cgroup) and is reported as `signal: KILL`.
 */

const NODE_SIGNALS: Readonly<Record<Exclude<SignalName, 'KILL'>, NodeJS.Signals>> = Object.freeze({
  INT: 'SIGINT', TERM: 'SIGTERM', HUP: 'SIGHUP', QUIT: 'SIGQUIT', USR1: 'SIGUSR1', USR2: 'SIGUSR2', WINCH: 'SIGWINCH',
});

export interface SessionInputOptions {
  readonly settings: SessionSettings;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  /** The sandbox, once it runs. */
  readonly source: () => SessionSource | undefined;
  /** Stdin bytes were written to the process (send a stdin-ack). */
  readonly written: () => void;
}

export class SessionInput {
  readonly stdin: StdinPump;
  readonly #options: SessionInputOptions;
  #controlBucket: TokenBucket;
  #killRequested = false;

  constructor(options: SessionInputOptions) {
    this.#options = options;
    this.#controlBucket = createBucket(options.settings.controlLimit, options.now());
    this.stdin = new StdinPump({
      limit: options.settings.stdinLimit,
      now: options.now,
      write: (bytes) => options.source()?.write(bytes) ?? Promise.resolve(),
      writeNow: (bytes) => options.source()?.writeNow?.(bytes) ?? 0,
      closeInput: () => options.source()?.closeInput(),
      written: () => options.written(),
    });
  }

  /** The client's own `signal KILL` ended the sandbox (exit-status.ts reports it as signal KILL). */
  get killRequested(): boolean {
    return this.#killRequested;
  }

  /**
   * Whether a control frame that makes the gateway act may go on now; when not, the client
   * gets a non-fatal SG_INPUT_RATE with the time to wait.
   */
  allowControl(connection: SessionConnection, what: string): boolean {
    const decision = take(this.#options.settings.controlLimit, this.#controlBucket, 1, this.#options.now());
    this.#controlBucket = decision.bucket;
    if (decision.kind === 'allow') return true;
    const { perSecond, burst } = this.#options.settings.controlLimit;
    connection.refuse('SG_INPUT_RATE', `${what} refused: over controlFramesPerSecond ${perSecond} (burst ${burst}); retry after ${decision.retryAfterMs} ms.`);
    return false;
  }

  resize(connection: SessionConnection, cols: number, rows: number): void {
    if (this.allowControl(connection, 'resize')) this.#options.source()?.resize(cols, rows);
  }

  signal(connection: SessionConnection, signal: SignalName): void {
    if (!this.allowControl(connection, 'signal')) return;
    const source = this.#options.source();
    if (signal !== 'KILL') return source?.signal(NODE_SIGNALS[signal]);
    this.#killRequested = true;
    source?.kill();
  }

  dispose(): void {
    this.stdin.dispose();
  }
}
