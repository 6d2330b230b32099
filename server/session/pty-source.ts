import type { PtySandbox } from '../sandbox/pty-sandbox.js';
import type { SandboxResult } from '../sandbox/sandbox-result.js';
import type { SandboxRunner } from '../sandbox/sandbox-runner.js';
import type { SandboxSpec } from '../sandbox/sandbox-spec.js';
import { killSandbox, type SessionSource, type SourceEvents } from './session-source.js';

/**
 * A pty session's sandbox: one merged output stream (channel stdout), input typed into the
 * terminal, window size changes.
 *
 * End of output: node-pty emits its exit only after the PTY's read side closed (EIO, when the
 * last process holding the terminal is gone; node-pty lib/unixTerminal.js `onexit`), so every
 * output byte has been delivered when the sandbox's `result` settles: that is the end of output.
 *
 * Input: node-pty queues writes and retries EAGAIN itself (CustomWriteStream) without telling
 * when a write completed, so `write` resolves once the bytes are in node-pty's queue. The
 * session's stdin window still bounds what a client can have in flight per stdin-ack.
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

  write(bytes: Uint8Array): Promise<void> {
    // node-pty copies what it is given (Buffer.from), so a view is enough here.
    this.#sandbox.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return Promise.resolve();
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
    void killSandbox(this.#sandbox);
  }

  async dispose(): Promise<SandboxResult> {
    this.#stopListening();
    // A paused stream would hold back the EIO that lets node-pty report the exit sooner.
    this.resume();
    await killSandbox(this.#sandbox);
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
