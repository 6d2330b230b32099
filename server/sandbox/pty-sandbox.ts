import type { IPty } from 'node-pty';

import { signalName } from './launcher-report.js';
import { nativeAddon } from './native-addon.js';
import { PTY_END_RELEASE_SIGNAL, PtyEndScanner, ptyEndMarker } from './pty-end-marker.js';
import { PtyInput, ptyMasterOf, type PtyWriteOutcome } from './pty-input.js';
import { SandboxProcess, type LauncherExit, type LauncherHandle, type SandboxProcessOptions, type SandboxResources } from './sandbox-process.js';

/**
 * A sandbox on a PTY (node-pty): `sandgate run --tty` now, the gateway's terminal sessions
 * next. Output is bytes (node-pty with `encoding: null`), never decoded here.
 *
 * Backpressure both ways: pause() stops reading the PTY master; the kernel's PTY buffer fills
 * and the sandbox's writes block — real flow control, as node-pty documents it. write()
 * resolves once the kernel took the bytes (pty-input.ts), so a caller that waits for it holds
 * no more than one write when the program does not read its terminal.
 *
 * End of output: the launcher writes an end marker after the sandbox's last byte and waits;
 * the marker is stripped here, the output has ended there, and the launcher is released
 * (pty-end-marker.ts). So the tail is never lost to node-pty closing a paused master.
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
  readonly #term: IPty;
  readonly #input: PtyInput;
  readonly #scanner: PtyEndScanner | undefined;
  readonly #dataListeners = new Set<(data: Buffer) => void>();
  #outputEnded = false;

  /** `endNonce`: the plan's `pty_end_marker` (pty-end-marker.ts); without it the output ends with node-pty's exit. */
  constructor(term: IPty, launcher: LauncherHandle, resources: SandboxResources, options: SandboxProcessOptions, endNonce?: string) {
    super(launcher, resources, options);
    this.#term = term;
    try {
      const master = ptyMasterOf(term);
      // node-pty opens the master without close-on-exec, so every later child (each launcher
      // included) would inherit every session's master. Construct in the tick of the spawn:
      // no other child can start in between.
      nativeAddon().closeOnExec(master.fd);
      this.#input = new PtyInput(master);
    } catch (error) {
      term.kill('SIGKILL'); // its init dies with it (PR_SET_PDEATHSIG); the result collects the rest
      throw error;
    }
    this.#scanner = endNonce === undefined ? undefined : new PtyEndScanner(ptyEndMarker(endNonce));
    // With `encoding: null` node-pty emits Buffers; its typings say string, so accept both.
    term.onData((data: string | Buffer) => this.#onOutput(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
    // node-pty reports the exit after the master's last read (lib/unixTerminal.js, onexit), and
    // this listener runs before `result` settles: whatever was held back is output after all.
    term.onExit(() => {
      const held = this.#scanner?.flush();
      if (held !== undefined && !this.#outputEnded) this.#emit(held);
      this.#endOutput();
    });
  }

  /** Output of the terminal, as bytes, up to the end marker. Subscribe right after spawning: nothing is buffered. */
  onData(listener: (data: Buffer) => void): Disposable {
    this.#dataListeners.add(listener);
    return { dispose: () => this.#dataListeners.delete(listener) };
  }

  /**
   * Input to the terminal (keys, pasted text), as bytes. Resolves 'written' once the kernel
   * took all of it (pty-input.ts), 'dropped' when the sandbox's output ended first.
   */
  write(data: Buffer | string): Promise<PtyWriteOutcome> {
    if (!this.isRunning || this.#outputEnded) return Promise.resolve('dropped');
    return this.#input.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /**
   * Input written now, synchronously, when nothing is queued (PtyInput.writeNow): the bytes
   * the terminal took, all of them when they are dropped, 0 when write() must take them.
   */
  writeNow(data: Uint8Array): number {
    if (!this.isRunning || this.#outputEnded) return data.byteLength;
    return this.#input.writeNow(data);
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
    if (this.isRunning) this.#term.resize(cols, rows);
  }

  /**
   * Stops reading output: the sandbox blocks once the kernel's PTY buffer is full. A no-op
   * once the end marker was read: the master is read on to the EIO of the launcher's exit.
   */
  pause(): void {
    if (!this.#outputEnded) this.#term.pause();
  }

  resume(): void {
    this.#term.resume();
  }

  #onOutput(bytes: Buffer): void {
    // After the marker: the echo of input typed meanwhile, not the sandbox's output.
    if (this.#outputEnded) return;
    const scanned = this.#scanner === undefined ? { data: bytes, ended: false } : this.#scanner.push(bytes);
    this.#emit(scanned.data);
    if (!scanned.ended) return;
    this.#endOutput();
    this.#term.resume();
    this.signal(PTY_END_RELEASE_SIGNAL);
  }

  #emit(data: Buffer): void {
    if (data.byteLength === 0) return;
    for (const listener of this.#dataListeners) listener(data);
  }

  #endOutput(): void {
    this.#outputEnded = true;
    this.#input.close();
  }
}
