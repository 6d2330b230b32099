import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

import { PROBE_DIR_INSIDE, REPO_ROOT } from './probe-binaries.js';
import { readSandboxReport, type SandboxReport } from './sandbox-report.js';

export const CLI_PATH = path.join(REPO_ROOT, 'bin', 'sandgate.js');

/** Default hard bound on one run, ms: the CLI is SIGKILLed (by pid) when it passes. */
export const DEFAULT_RUN_TIMEOUT_MS = 60_000;
/** Default bound on the bytes kept per output stream (the rest is counted, not kept). */
export const DEFAULT_CAPTURE_BYTES = 1024 * 1024;
/** How long to wait for the pipes to reach EOF after the CLI exited, ms. A pipe still open
 * then means some process outside the CLI holds it: a survivor. */
const PIPE_EOF_GRACE_MS = 5_000;

/** `sandgate run` options, as the CLI spells them. */
export interface SandboxOptions {
  /** `--memory` (e.g. `64M`). */
  readonly memory?: string;
  readonly pids?: number;
  /** `--cpu` in cores. */
  readonly cpu?: number;
  /** `--time-limit` (e.g. `2s`). */
  readonly timeLimit?: string;
  /** Extra `--ro-bind SRC[:DST]` (the probe directory is always bound), after `binds`. */
  readonly roBinds?: readonly string[];
  /** `--bind SRC[:DST]` (writable), passed before `roBinds`. */
  readonly binds?: readonly string[];
  /** `--env K=V` for the command inside. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** `--tty`: the command gets the CLI's terminal (use with a PTY, see pty-sandbox.ts). */
  readonly tty?: boolean;
  /** Added to the CLI process's own environment (e.g. secrets that must not get in). */
  readonly cliEnv?: Readonly<Record<string, string>>;
  /** Written to the CLI's stdin, then EOF. Ignored by `startInSandbox` (use write/endStdin). */
  readonly stdin?: string;
  /** Extra pipes the CLI inherits as fds 3, 4, … (a careless gateway's leaked descriptors). */
  readonly extraFds?: number;
  /** Host path for `--json-report` (default: a fresh file in the suite's work directory). */
  readonly jsonReport?: string;
  /** Hard bound on the run, ms (default DEFAULT_RUN_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Bytes kept per stream (default DEFAULT_CAPTURE_BYTES). */
  readonly captureBytes?: number;
}

/** Where the suite's probe directory and the run's report live (set by the suite). */
export interface RunPaths {
  /** Host directory bound read-only at PROBE_DIR_INSIDE. */
  readonly probeDir: string;
  /** Host path for `--json-report`. */
  readonly reportPath: string;
}

/** How one `sandgate run` ended. */
export interface SandboxRun {
  /** Exit code of the CLI (the command's status, propagated), or null if it died of a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Total bytes seen on stdout (may exceed what `stdout` kept). */
  readonly stdoutBytes: number;
  /** The `--json-report` document, or undefined when the CLI wrote none. */
  readonly report: SandboxReport | undefined;
  /** True when the helper had to SIGKILL the CLI at `timeoutMs`. */
  readonly timedOut: boolean;
  /** True when a pipe stayed open after the CLI exited: something else still held it. */
  readonly pipesHeldOpen: boolean;
  readonly wallMs: number;
}

/** The CLI's argument list for `argv` under `options`. */
export function cliArguments(argv: readonly string[], options: SandboxOptions, paths: RunPaths): string[] {
  const args = ['run', '--json-report', paths.reportPath, '--ro-bind', `${paths.probeDir}:${PROBE_DIR_INSIDE}`];
  if (options.memory !== undefined) args.push('--memory', options.memory);
  if (options.pids !== undefined) args.push('--pids', String(options.pids));
  if (options.cpu !== undefined) args.push('--cpu', String(options.cpu));
  if (options.timeLimit !== undefined) args.push('--time-limit', options.timeLimit);
  // Writable binds first: the spec wants outer binds before the ones below them, and the
  // nested cases here put a read-only bind inside a writable one.
  for (const bind of options.binds ?? []) args.push('--bind', bind);
  for (const bind of options.roBinds ?? []) args.push('--ro-bind', bind);
  for (const [key, value] of Object.entries(options.env ?? {})) args.push('--env', `${key}=${value}`);
  if (options.cwd !== undefined) args.push('--cwd', options.cwd);
  if (options.tty === true) args.push('--tty');
  args.push('--', ...argv);
  return args;
}

class BoundedCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.kept >= this.limit) return;
    const part = chunk.subarray(0, this.limit - this.kept);
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** One `sandgate run` on pipes, for tests that talk to the sandbox while it runs. */
export class RunningSandbox {
  readonly result: Promise<SandboxRun>;
  private readonly child: ChildProcess;
  private readonly stdoutCapture: BoundedCapture;
  private readonly stderrCapture: BoundedCapture;
  private readonly listeners = new Set<() => void>();
  private exited = false;

  constructor(argv: readonly string[], options: SandboxOptions, paths: RunPaths) {
    const started = performance.now();
    const captureBytes = options.captureBytes ?? DEFAULT_CAPTURE_BYTES;
    this.stdoutCapture = new BoundedCapture(captureBytes);
    this.stderrCapture = new BoundedCapture(captureBytes);
    const extra = Array.from({ length: options.extraFds ?? 0 }, () => 'pipe' as const);
    this.child = spawn(process.execPath, [CLI_PATH, ...cliArguments(argv, options, paths)], {
      env: { ...process.env, ...options.cliEnv },
      stdio: ['pipe', 'pipe', 'pipe', ...extra],
    });
    const { stdout, stderr, stdin } = this.streams();
    stdout.on('data', (chunk: Buffer) => {
      this.stdoutCapture.add(chunk);
      for (const listener of this.listeners) listener();
    });
    stderr.on('data', (chunk: Buffer) => this.stderrCapture.add(chunk));
    // The command may exit without reading its stdin, or a test may destroy stdout: EPIPE and
    // ERR_STREAM_DESTROYED are expected there and are not what these tests observe.
    stdin.on('error', () => undefined);
    stdout.on('error', () => undefined);

    const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    this.result = new Promise<SandboxRun>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.kill();
      }, timeoutMs);
      this.child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.child.once('exit', (exitCode, signal) => {
        clearTimeout(timer);
        this.exited = true;
        for (const listener of this.listeners) listener();
        // Any failure here (an unreadable report) rejects the result: it must never stay pending.
        this.waitForPipes()
          .then((pipesHeldOpen) => {
            resolve({
              exitCode,
              signal,
              stdout: this.stdoutCapture.text(),
              stderr: this.stderrCapture.text(),
              stdoutBytes: this.stdoutCapture.total,
              report: readSandboxReport(paths.reportPath),
              timedOut,
              pipesHeldOpen,
              wallMs: performance.now() - started,
            });
          })
          .catch(reject);
      });
    });
    // A test may fail before it awaits the result; the awaiting test reports the rejection.
    this.result.catch(() => undefined);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the sandgate CLI was not spawned');
    return this.child.pid;
  }

  /** What stdout showed so far (bounded by captureBytes). */
  get stdout(): string {
    return this.stdoutCapture.text();
  }

  get stdoutBytes(): number {
    return this.stdoutCapture.total;
  }

  write(data: string): void {
    this.streams().stdin.write(data);
  }

  endStdin(): void {
    this.streams().stdin.end();
  }

  /** Stops reading stdout: the pipe fills and the writer blocks (backpressure). */
  pauseStdout(): void {
    this.streams().stdout.pause();
  }

  resumeStdout(): void {
    this.streams().stdout.resume();
  }

  /** Closes our read end of stdout: the next write inside gets EPIPE/SIGPIPE. */
  destroyStdout(): void {
    this.streams().stdout.destroy();
  }

  /** SIGKILLs the CLI process (by its pid only) if it still runs. */
  kill(): void {
    if (!this.exited && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Resolves with the first match of `pattern` in stdout; rejects at exit or after timeoutMs. */
  async waitForStdout(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    let listener: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<RegExpExecArray>((resolve, reject) => {
        listener = () => {
          const match = pattern.exec(this.stdout);
          if (match !== null) resolve(match);
          else if (this.exited) reject(new Error(`sandgate exited before stdout matched ${pattern}; ${this.describe()}`));
        };
        timer = setTimeout(() => reject(new Error(`no ${pattern} on stdout within ${timeoutMs} ms; ${this.describe()}`)), timeoutMs);
        this.listeners.add(listener);
        listener();
      });
    } finally {
      clearTimeout(timer);
      if (listener !== undefined) this.listeners.delete(listener);
    }
  }

  describe(): string {
    const tail = (text: string): string => JSON.stringify(text.slice(-400));
    return `cli pid ${this.child.pid ?? '?'}, stdout ${tail(this.stdout)}, stderr ${tail(this.stderrCapture.text())}`;
  }

  private streams(): { stdin: Writable; stdout: Readable; stderr: Readable } {
    const { stdin, stdout, stderr } = this.child;
    if (stdin === null || stdout === null || stderr === null) throw new Error('sandgate CLI spawned without pipes');
    return { stdin, stdout, stderr };
  }

  /** Resolves false once every pipe of the CLI reached EOF, true if one is still open later. */
  private async waitForPipes(): Promise<boolean> {
    const closed = new Promise<boolean>((resolve) => this.child.once('close', () => resolve(false)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), PIPE_EOF_GRACE_MS);
    });
    const heldOpen = await Promise.race([closed, late]);
    clearTimeout(timer);
    if (heldOpen) for (const stream of this.child.stdio) stream?.destroy();
    return heldOpen;
  }
}

export function startInSandbox(argv: readonly string[], options: SandboxOptions, paths: RunPaths): RunningSandbox {
  return new RunningSandbox(argv, options, paths);
}

/** Runs `argv` in a fresh sandbox through the CLI, feeding `options.stdin` then EOF. */
export async function runInSandbox(argv: readonly string[], options: SandboxOptions, paths: RunPaths): Promise<SandboxRun> {
  const sandbox = new RunningSandbox(argv, options, paths);
  if (options.stdin !== undefined) sandbox.write(options.stdin);
  sandbox.endStdin();
  return sandbox.result;
}
