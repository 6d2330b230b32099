import type { IPty } from 'node-pty';

import { signalName } from './launcher-report.js';
import { SandboxProcess, type LauncherExit, type LauncherHandle, type SandboxProcessOptions, type SandboxResources } from './sandbox-process.js';

/**
 * A sandbox on a PTY (node-pty): `sandgate run --tty` now, the gateway's terminal sessions
 * next. Output is bytes (node-pty with `encoding: null`), never decoded here.
 *
 * Backpressure: pause() stops reading the PTY master; the kernel's PTY buffer fills and the
 * sandbox's writes block — real flow control, as node-pty documents it. Input bounding is
 * the session's (write() passes bytes on as given).
 */

export interface Disposable {
  dispose(): void;
}

/** Terminal size bounds accepted by resize() (TIOCSWINSZ takes unsigned shorts). */
export const PTY_SIZE_BOUNDS = Object.freeze({ minCells: 1, maxCells: 4096 });

export function ptyLauncher(term: IPty): LauncherHandle {
  const exited = new Promise<LauncherExit>((resolve) => {
    term.onExit(({ exitCode, signal }) => {
      // node-pty reports waitpid's WTERMSIG as `signal` (0 or absent when it exited).
      const name = signal === undefined || signal === 0 ? undefined : signalName(signal);
      resolve(name === undefined ? { code: exitCode, signal: null } : { code: null, signal: name });
    });
  });
  return { pid: term.pid, exited };
}

export class PtySandbox extends SandboxProcess {
  private readonly dataListeners = new Set<(data: Buffer) => void>();

  constructor(
    private readonly term: IPty,
    launcher: LauncherHandle,
    resources: SandboxResources,
    options: SandboxProcessOptions,
  ) {
    super(launcher, resources, options);
    // With `encoding: null` node-pty emits Buffers; its typings say string, so accept both.
    term.onData((data: string | Buffer) => {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (const listener of this.dataListeners) listener(bytes);
    });
  }

  /** Output of the terminal, as bytes. Subscribe right after spawning: nothing is buffered. */
  onData(listener: (data: Buffer) => void): Disposable {
    this.dataListeners.add(listener);
    return { dispose: () => this.dataListeners.delete(listener) };
  }

  /** Input to the terminal (keys, pasted text), as bytes. Dropped once the sandbox ended. */
  write(data: Buffer | string): void {
    if (this.isRunning) this.term.write(data);
  }

  /**
   * Sets the window size (TIOCSWINSZ); the kernel sends SIGWINCH to the foreground group.
   * Sizes from the network are validated by the protocol codec; here a bad one is a bug.
   */
  resize(cols: number, rows: number): void {
    for (const [name, value] of [['cols', cols], ['rows', rows]] as const) {
      if (!Number.isInteger(value) || value < PTY_SIZE_BOUNDS.minCells || value > PTY_SIZE_BOUNDS.maxCells) {
        throw new RangeError(`${name} must be a whole number from ${PTY_SIZE_BOUNDS.minCells} to ${PTY_SIZE_BOUNDS.maxCells}, got ${value}`);
      }
    }
    if (this.isRunning) this.term.resize(cols, rows);
  }

  /** Stops reading output: the sandbox blocks once the kernel's PTY buffer is full. */
  pause(): void {
    this.term.pause();
  }

  resume(): void {
    this.term.resume();
  }
}
