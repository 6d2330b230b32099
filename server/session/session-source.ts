import type { OutputChannel, SessionKind } from '../../client-sdk/src/protocol/index.js';
import type { SandboxResult } from '../sandbox/sandbox-result.js';

/**
 * What a live session needs from its sandbox, whether it runs on a PTY (pty-source.ts) or on
 * pipes (exec-source.ts): output as bytes tagged by channel, backpressure, bounded input, the
 * terminal's size, signals, and one idempotent release. The session never touches node-pty or
 * child_process itself.
 */

/** Where a source reports; set once, when the source is made. */
export interface SourceEvents {
  /** Bytes the process wrote, in order. The buffer is the source's: copy it to keep it (the ring does). */
  readonly output: (channel: OutputChannel, bytes: Uint8Array) => void;
  /** No more output will come: EOF on the PTY, or on both pipes. Reported once. */
  readonly outputEnded: () => void;
}

export interface SessionSource {
  readonly kind: SessionKind;
  /** Settles (never rejects) once the sandbox ended and its cgroup and report are gone. */
  readonly result: Promise<SandboxResult>;
  /** Stops reading output: the kernel buffer fills and the process blocks in write(2). Idempotent. */
  pause(): void;
  /** Reads output again. Idempotent. */
  resume(): void;
  /**
   * Hands stdin bytes to the process. Resolves (never rejects) once the gateway no longer
   * holds them; bytes written after the process closed its input are dropped, as a pipe does.
   */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Hands stdin bytes to the process synchronously when it takes them at once and nothing is
   * pending: the bytes taken (all of them when dropped), 0 when `write` must take them. The
   * keystroke path of a PTY; a source without it (exec: a pipe stream) always uses `write`.
   */
  writeNow?(bytes: Uint8Array): number;
  /** End of input (EOF on an exec's stdin). A PTY has no separate input to close. */
  closeInput(): void;
  /** TIOCSWINSZ (PTY only; the caller has validated the size). */
  resize(cols: number, rows: number): void;
  /** Forwards `signal` through the launcher to the sandbox's command. */
  signal(signal: NodeJS.Signals): void;
  /** Ends the whole sandbox (SIGKILL to its cgroup); the end arrives through `result`. */
  kill(): void;
  /** Detaches every listener, kills the sandbox if it runs, resolves once it is released. Idempotent. */
  dispose(): Promise<SandboxResult>;
}

