import pty from 'node-pty';

import type { RunPaths, SandboxOptions } from './run-in-sandbox.js';
import { CLI_PATH, cliArguments, DEFAULT_RUN_TIMEOUT_MS } from './run-in-sandbox.js';
import { readSandboxReport, type SandboxReport } from './sandbox-report.js';

/** Characters of terminal output kept for assertions (the rest is only counted). */
const OUTPUT_KEEP_CHARS = 256 * 1024;

/** How a run on a PTY ended. */
export interface PtyRun {
  readonly exitCode: number;
  /** Signal number that ended the CLI, or 0/undefined. */
  readonly signal: number | undefined;
  /** What the terminal showed (its first OUTPUT_KEEP_CHARS characters). */
  readonly stdout: string;
  /** Bytes the terminal received in all. */
  readonly receivedBytes: number;
  readonly report: SandboxReport | undefined;
  readonly timedOut: boolean;
}

/**
 * `sandgate run --tty` on a fresh host PTY (node-pty), as a terminal user would start it: the
 * command gets a terminal of its own. With `tty: false`, the CLI runs on the PTY without
 * `--tty`, and its stdio (the caller's terminal) is passed straight to the command.
 */
export class PtySandbox {
  readonly result: Promise<PtyRun>;
  private readonly term: pty.IPty;
  private output = '';
  private outputBytes = 0;
  private done = false;

  constructor(argv: readonly string[], options: SandboxOptions, paths: RunPaths, size = { cols: 100, rows: 30 }) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    this.term = pty.spawn(process.execPath, [CLI_PATH, ...cliArguments(argv, { ...options, tty: options.tty ?? true }, paths)], {
      name: 'xterm-256color',
      ...size,
      env,
    });
    this.term.onData((data) => {
      this.outputBytes += Buffer.byteLength(data);
      // Keep the head (where the probes' lines are) and stop growing: a flood is counted only.
      if (this.output.length < OUTPUT_KEEP_CHARS) this.output += data.slice(0, OUTPUT_KEEP_CHARS - this.output.length);
    });
    const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    this.result = new Promise<PtyRun>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.kill();
      }, timeoutMs);
      this.term.onExit(({ exitCode, signal }) => {
        clearTimeout(timer);
        this.done = true;
        try {
          resolve({ exitCode, signal, stdout: this.output, receivedBytes: this.outputBytes, report: readSandboxReport(paths.reportPath), timedOut });
        } catch (error) {
          reject(error); // an unreadable report: the result must never stay pending
        }
      });
    });
  }

  get transcript(): string {
    return this.output;
  }

  /** Bytes the terminal received so far (counted even past what is kept). */
  get receivedBytes(): number {
    return this.outputBytes;
  }

  write(data: string): void {
    this.term.write(data);
  }

  /** Stops reading the host PTY: its buffer fills and the CLI's writes to it block. */
  pause(): void {
    this.term.pause();
  }

  resume(): void {
    this.term.resume();
  }

  get pid(): number {
    return this.term.pid;
  }

  /** SIGKILLs the CLI on the PTY (its pid only) if it still runs. */
  kill(): void {
    if (!this.done) this.term.kill('SIGKILL');
  }
}
