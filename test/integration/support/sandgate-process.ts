import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

import { within } from './wait-until.js';

/** How a CLI process ended, with everything it wrote. */
export interface CliOutcome {
  /** Exit code, or null when the CLI itself died of a signal. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

export interface SpawnCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * One `sandgate run` process on pipes. Output is kept as bytes; waits are bounded and fail
 * with what was seen so far.
 */
export class SandgateProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stdoutChunks: Buffer[] = [];
  private readonly stderrChunks: Buffer[] = [];
  private readonly outputListeners = new Set<() => void>();
  /** Settles when the process has exited AND its stdout and stderr reached EOF. */
  readonly closed: Promise<CliOutcome>;
  /** Settles when the process has exited (its pipes may still be held open by others). */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: SpawnCommand) {
    this.child = spawn(command.file, command.args, { env: command.env, cwd: command.cwd, stdio: 'pipe' });
    this.child.stdout.on('data', (chunk: Buffer) => this.onOutput(this.stdoutChunks, chunk));
    this.child.stderr.on('data', (chunk: Buffer) => this.onOutput(this.stderrChunks, chunk));
    // EPIPE when the command does not read its stdin is not what these tests look at.
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (status, signal) => resolve({ status, signal }));
    });
    this.closed = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (status: number | null, signal: NodeJS.Signals | null) =>
        resolve({ status, signal, stdout: this.stdout, stderr: this.stderr }),
      );
    });
    // A test may fail before it awaits these: the rejection is reported by the awaiting test.
    this.exited.catch(() => undefined);
    this.closed.catch(() => undefined);
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('sandgate CLI was not spawned');
    return pid;
  }

  get stdout(): Buffer {
    return Buffer.concat(this.stdoutChunks);
  }

  get stderr(): Buffer {
    return Buffer.concat(this.stderrChunks);
  }

  write(data: Buffer | string): void {
    this.child.stdin.write(data);
  }

  endStdin(data?: Buffer | string): void {
    if (data === undefined) this.child.stdin.end();
    else this.child.stdin.end(data);
  }

  /** Sends `signal` to the CLI process only (not its group). */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Resolves with the match once stdout (decoded as UTF-8) matches `pattern`. */
  async waitForStdout(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    let listener: (() => void) | undefined;
    const matched = new Promise<RegExpExecArray>((resolve, reject) => {
      listener = () => {
        const match = pattern.exec(this.stdout.toString('utf8'));
        if (match !== null) resolve(match);
        else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          reject(new Error(`sandgate exited before stdout matched ${pattern}; ${this.describe()}`));
        }
      };
      this.outputListeners.add(listener);
      this.exited.then(listener, reject);
      listener();
    });
    try {
      return await within(() => `stdout to match ${pattern} (${this.describe()})`, timeoutMs, matched);
    } finally {
      if (listener !== undefined) this.outputListeners.delete(listener);
    }
  }

  /** Waits for exit and EOF on both pipes. */
  async finished(timeoutMs: number): Promise<CliOutcome> {
    return within(() => `sandgate to finish (${this.describe()})`, timeoutMs, this.closed);
  }

  /** What the process wrote so far, for failure messages. */
  describe(): string {
    const tail = (b: Buffer): string => JSON.stringify(b.subarray(-400).toString('utf8'));
    return `pid ${this.child.pid ?? '?'}, stdout ${tail(this.stdout)}, stderr ${tail(this.stderr)}`;
  }

  private onOutput(into: Buffer[], chunk: Buffer): void {
    into.push(chunk);
    for (const listener of this.outputListeners) listener();
  }
}
