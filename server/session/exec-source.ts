import type { Readable, Writable } from 'node:stream';

import type { OutputChannel } from '../../client-sdk/src/protocol/index.js';
import { SandgateError } from '../errors/sandgate-error.js';
import type { PipedSandbox } from '../sandbox/sandbox-process.js';
import type { SandboxResult } from '../sandbox/sandbox-result.js';
import type { SandboxRunner } from '../sandbox/sandbox-runner.js';
import type { SandboxSpec } from '../sandbox/sandbox-spec.js';
import type { SessionSource, SourceEvents } from './session-source.js';

/**
 * An exec session's sandbox: the command on three pipes, stdout and stderr kept apart.
 *
 * End of output is the end of both pipes ('end', or 'close' when a pipe is destroyed), which
 * may come before or after the process status: the session waits for both (session-state.ts).
 * A paused pipe holds its 'end' back until the bytes before it were read, so the end is never
 * reported ahead of output.
 *
 * Stdin: `write` resolves from the stream's callback, i.e. once the bytes were written to the
 * pipe (or dropped because the reader is gone: EPIPE), so the session acknowledges stdin only
 * when the gateway no longer holds it. Every stream gets an 'error' listener: an EPIPE from a
 * command that closed its stdin is a normal end of input, not a gateway failure.
 */
export class ExecSource implements SessionSource {
  readonly kind = 'exec';
  readonly result: Promise<SandboxResult>;
  readonly #sandbox: PipedSandbox;
  readonly #stdin: Writable;
  readonly #outputs: readonly { readonly channel: OutputChannel; readonly stream: Readable }[];
  readonly #cleanups: (() => void)[] = [];
  #open: number;
  #paused = false;
  #inputBroken = false;

  constructor(sandbox: PipedSandbox, streams: { stdin: Writable; stdout: Readable; stderr: Readable }, events: SourceEvents) {
    this.#sandbox = sandbox;
    this.#stdin = streams.stdin;
    this.#outputs = [
      { channel: 'stdout', stream: streams.stdout },
      { channel: 'stderr', stream: streams.stderr },
    ];
    this.#open = this.#outputs.length;
    const onInputError = (): void => {
      this.#inputBroken = true;
    };
    // The 'error' listeners stay for the streams' whole life: one that fires after dispose()
    // must not find an EventEmitter without a listener (which throws).
    this.#stdin.on('error', onInputError);
    for (const { channel, stream } of this.#outputs) {
      let ended = false;
      const onData = (chunk: Buffer): void => events.output(channel, chunk);
      const onEnd = (): void => {
        if (ended) return;
        ended = true;
        this.#open -= 1;
        if (this.#open === 0) events.outputEnded();
      };
      // A read error ends that stream's output; the process status still comes from `result`.
      const onError = (): void => onEnd();
      stream.on('data', onData);
      stream.once('end', onEnd);
      stream.once('close', onEnd);
      stream.on('error', onError);
      this.#cleanups.push(() => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('close', onEnd);
      });
    }
    this.result = sandbox.result;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    for (const { stream } of this.#outputs) stream.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const { stream } of this.#outputs) stream.resume();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#inputBroken || this.#stdin.writableEnded || this.#stdin.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      // The callback runs once the chunk is flushed to the pipe, or with the error that ended it.
      this.#stdin.write(bytes, () => resolve());
    });
  }

  closeInput(): void {
    if (!this.#stdin.writableEnded && !this.#stdin.destroyed) this.#stdin.end();
  }

  resize(): void {
    // The protocol refuses resize in an exec session: there is no terminal.
  }

  signal(signal: NodeJS.Signals): void {
    this.#sandbox.signal(signal);
  }

  kill(): void {
    void this.#sandbox.kill();
  }

  async dispose(): Promise<SandboxResult> {
    const result = await this.#sandbox.kill();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    // The pipes' other ends died with the sandbox; destroy ours so no handle outlives it.
    this.#stdin.destroy();
    for (const { stream } of this.#outputs) stream.destroy();
    return result;
  }
}

export async function spawnExecSource(runner: SandboxRunner, spec: SandboxSpec, events: SourceEvents): Promise<ExecSource> {
  const sandbox = await runner.spawnPiped(spec, { stdio: 'pipe', newSession: true });
  const { stdin, stdout, stderr } = sandbox;
  if (stdin === null || stdout === null || stderr === null) {
    await sandbox.dispose();
    throw new SandgateError('SG_SANDBOX_SPAWN', 'the sandbox was spawned without its stdin, stdout and stderr pipes');
  }
  return new ExecSource(sandbox, { stdin, stdout, stderr }, events);
}
