import type { PtySandbox } from '../sandbox/pty-sandbox.js';
import type { SandboxResult } from '../sandbox/sandbox-result.js';
import type { SandboxRunner } from '../sandbox/sandbox-runner.js';
import type { SandboxSpec } from '../sandbox/sandbox-spec.js';
import type { SessionSource, SourceEvents } from './session-source.js';

/**
 * A pty session's sandbox: one merged output stream (channel stdout), input typed into the
 * terminal, window size changes.
 *
 * End of output: the sandbox strips the launcher's end marker and delivers every byte before
 * it, however long the output was paused, before its `result` settles (pty-end-marker.ts):
 * that is the end of output.
 *
 * Input: `write` resolves once the kernel took the bytes into the terminal's input queue
 * (pty-input.ts), so a stdin-ack means the terminal has them, and a program that never reads
 * holds the stdin pump: what the gateway holds stays within the client's stdin window.
 *
 * Pausing stops reading the master; keystrokes are written to it independently, so Ctrl-C
 * reaches the line discipline (and, with ISIG, the foreground job) even while output is held.
 */
export class PtySource implements SessionSource {
  readonly kind = 'pty';
  readonly result: Promise<SandboxResult>;
  readonly #sandbox: PtySandbox;
  #listening: { dispose(): void } | undefined;
  #paused = false;

  constructor(sandbox: PtySandbox, events: SourceEvents) {
    this.#sandbox = sandbox;
    this.#listening = sandbox.onData((data) => events.output('stdout', data));
    this.result = sandbox.result.then((result) => {
      this.#stopListening();
      events.outputEnded();
      return result;
    });
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#sandbox.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#sandbox.resume();
  }

  async write(bytes: Uint8Array): Promise<void> {
    // The PTY input copies what it is given, so a view is enough here. A write dropped because
    // the sandbox's output ended is done with, as for a pipe without a reader.
    await this.#sandbox.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  writeNow(bytes: Uint8Array): number {
    return this.#sandbox.writeNow(bytes);
  }

  closeInput(): void {
    // The protocol refuses stdin-close in a pty session (send ^D instead): nothing to do.
  }

  resize(cols: number, rows: number): void {
    this.#sandbox.resize(cols, rows);
  }

  signal(signal: NodeJS.Signals): void {
    this.#sandbox.signal(signal);
  }

  kill(): void {
    void this.#sandbox.kill();
  }

  async dispose(): Promise<SandboxResult> {
    this.#stopListening();
    // A paused stream would hold back the end marker, and the EIO that lets node-pty report the exit sooner.
    this.resume();
    await this.#sandbox.kill();
    return this.result;
  }

  #stopListening(): void {
    this.#listening?.dispose();
    this.#listening = undefined;
  }
}

export async function spawnPtySource(
  runner: SandboxRunner,
  spec: SandboxSpec,
  size: { readonly cols: number; readonly rows: number },
  events: SourceEvents,
): Promise<PtySource> {
  const sandbox = await runner.spawnPty(spec, size);
  // Subscribed in the same tick as the spawn resolved: node-pty's first data event is an I/O
  // callback, which cannot run before this continuation.
  return new PtySource(sandbox, events);
}
