import pty from 'node-pty';

import type { SpawnCommand } from './sandgate-process.js';
import { within } from './wait-until.js';

/**
 * One process on a fresh host PTY (node-pty), read like a terminal: `expect` consumes the
 * output up to the end of each match, so a later wait never matches an earlier line again.
 * Interactive bash echoes input and wraps it in bracketed-paste sequences: patterns match
 * `[\r\n]text`, never `\r\ntext` (shared FIELD-NOTES).
 */
export class PtySession {
  private readonly term: pty.IPty;
  private output = '';
  private cursor = 0;
  private readonly listeners = new Set<() => void>();
  private exitStatus: { exitCode: number; signal: number | undefined } | undefined;
  readonly exited: Promise<{ exitCode: number; signal: number | undefined }>;

  constructor(command: SpawnCommand, size: { cols: number; rows: number }) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(command.env)) if (value !== undefined) env[key] = value;
    this.term = pty.spawn(command.file, [...command.args], { name: 'xterm-256color', ...size, env, cwd: command.cwd });
    this.term.onData((data) => {
      this.output += data;
      for (const listener of this.listeners) listener();
    });
    this.exited = new Promise((resolve) => {
      this.term.onExit(({ exitCode, signal }) => {
        this.exitStatus = { exitCode, signal };
        resolve(this.exitStatus);
        for (const listener of this.listeners) listener();
      });
    });
  }

  get pid(): number {
    return this.term.pid;
  }

  /** Everything the terminal showed so far. */
  get transcript(): string {
    return this.output;
  }

  write(data: string): void {
    this.term.write(data);
  }

  /** Resizes the host PTY (TIOCSWINSZ on the master; the kernel sends SIGWINCH). */
  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** Waits until the unread output matches `pattern`; returns the match and consumes through it. */
  async expect(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    let listener: (() => void) | undefined;
    const matched = new Promise<RegExpExecArray>((resolve, reject) => {
      listener = () => {
        const unread = this.output.slice(this.cursor);
        const match = pattern.exec(unread);
        if (match !== null) {
          this.cursor += match.index + match[0].length;
          resolve(match);
        } else if (this.exitStatus !== undefined) {
          reject(new Error(`terminal process exited (${JSON.stringify(this.exitStatus)}) before ${pattern}; ${this.describe()}`));
        }
      };
      this.listeners.add(listener);
      listener();
    });
    try {
      return await within(() => `terminal output to match ${pattern}; ${this.describe()}`, timeoutMs, matched);
    } finally {
      if (listener !== undefined) this.listeners.delete(listener);
    }
  }

  async waitForExit(timeoutMs: number): Promise<{ exitCode: number; signal: number | undefined }> {
    return within(() => `terminal process to exit; ${this.describe()}`, timeoutMs, this.exited);
  }

  /** SIGKILLs the process on the PTY if it still runs (used by teardown). */
  kill(): void {
    if (this.exitStatus === undefined) this.term.kill('SIGKILL');
  }

  describe(): string {
    return `unread terminal output ${JSON.stringify(this.output.slice(this.cursor).slice(-400))}`;
  }
}
