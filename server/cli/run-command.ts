import { spawnSync } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';

import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import type { PipedSandbox } from '../sandbox/sandbox-process.js';
import type { PtySandbox } from '../sandbox/pty-sandbox.js';
import type { SandboxResult } from '../sandbox/sandbox-result.js';
import { SandboxRunner } from '../sandbox/sandbox-runner.js';
import type { SandboxSpec } from '../sandbox/sandbox-spec.js';
import { parseSandboxSpec } from '../sandbox/spec-validation.js';
import { parseRunArgs, RUN_USAGE } from './run-options.js';

/**
 * `sandgate run [options] -- CMD...`: one command in a fresh sandbox, like bwrap or nsjail.
 * Without --tty the launcher inherits this process's stdin/stdout/stderr, so bytes pass
 * untouched and unbuffered; with --tty it runs on a PTY bridged to our stdio.
 *
 * Signals: the launcher runs in a session of its own, so a terminal's Ctrl-C reaches only
 * this process, which forwards it once (the launcher forwards it into the sandbox). In the
 * same process group the sandbox would get it twice: from the terminal and from us.
 */

/** Signals this process forwards to the sandbox (SIGWINCH becomes a PTY resize with --tty). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']);

/** What --json-report writes. */
export interface RunJsonReport {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly reason: SandboxResult['reason'];
  /** What this command exits with. */
  readonly status: number;
  readonly cpuMs: number;
  readonly peakMemoryBytes: number;
  readonly oomKills: number;
  readonly wallMs: number;
  readonly hostUid: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

function say(text: string): void {
  process.stderr.write(`sandgate run: ${text}\n`);
}

/** Returns the exit status: the command's (code or 128+signal), or the registry's code for a failure. */
export async function runRunCommand(argv: readonly string[]): Promise<number> {
  try {
    const parsed = await parseRunArgs(argv);
    if (parsed.help) {
      process.stdout.write(RUN_USAGE);
      return 0;
    }
    // Validated before anything exists on the host: a bad spec creates no cgroup.
    const spec = parseSandboxSpec(parsed.specInput);
    const report = parsed.jsonReport === undefined ? undefined : await openJsonReport(parsed.jsonReport);
    const signals = new SignalForwarder();
    let result: SandboxResult;
    try {
      const runner = await SandboxRunner.open();
      const reaped = await runner.reapStale();
      for (const { name, error } of reaped.failed) say(`warning: could not remove the stale cgroup ${name}: ${error instanceof Error ? error.message : String(error)}`);
      result = parsed.tty ? await runOnTerminal(runner, spec, signals) : await runOnInheritedStdio(runner, spec, signals);
    } catch (error) {
      await report?.close();
      throw error;
    } finally {
      signals.dispose();
    }
    if (result.error !== undefined) say(`${result.error.message} [${result.error.code}]`);
    if (result.cleanupError !== undefined) say(`warning: ${result.cleanupError.message} [${result.cleanupError.code}]`);
    if (report !== undefined && parsed.jsonReport !== undefined) await writeJsonReport(report, parsed.jsonReport, result);
    return result.status;
  } catch (error) {
    if (!isSandgateError(error)) throw error;
    say(`${error.message} [${error.code}]${error.code === 'SG_USAGE' ? ' (see "sandgate run --help")' : ''}`);
    return error.exitCode;
  }
}

/**
 * Catches FORWARDED_SIGNALS from before the spawn (so that a Ctrl-C while the cgroup is being
 * made cannot kill this process half-way and leak it) and forwards them once the sandbox
 * exists; the first one caught early is delivered right after the spawn.
 */
class SignalForwarder {
  private target: PipedSandbox | PtySandbox | undefined;
  private pending: NodeJS.Signals | undefined;
  private readonly handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = (): void => {
      if (this.target === undefined) this.pending ??= signal;
      else this.target.signal(signal);
    };
    process.on(signal, handler);
    return { signal, handler };
  });

  attach(sandbox: PipedSandbox | PtySandbox): void {
    this.target = sandbox;
    if (this.pending !== undefined) sandbox.signal(this.pending);
  }

  dispose(): void {
    for (const { signal, handler } of this.handlers) process.off(signal, handler);
  }
}

async function runOnInheritedStdio(runner: SandboxRunner, spec: SandboxSpec, signals: SignalForwarder): Promise<SandboxResult> {
  const sandbox = await runner.spawnPiped(spec, { stdio: 'inherit', newSession: true });
  signals.attach(sandbox);
  return sandbox.result;
}

/**
 * --tty: our stdin (raw when it is a terminal) → the PTY; the PTY → our stdout, pausing the
 * PTY while stdout is full; our terminal's size → the PTY on SIGWINCH ('resize').
 */
async function runOnTerminal(runner: SandboxRunner, spec: SandboxSpec, signals: SignalForwarder): Promise<SandboxResult> {
  const { stdin, stdout } = process;
  const size = stdout.isTTY ? { cols: stdout.columns, rows: stdout.rows } : {};
  const sandbox = await runner.spawnPty(spec, size);
  signals.attach(sandbox);

  let waitingForDrain = false;
  const output = sandbox.onData((data) => {
    if (stdout.write(data) || waitingForDrain) return;
    waitingForDrain = true;
    sandbox.pause();
    stdout.once('drain', () => {
      waitingForDrain = false;
      sandbox.resume();
    });
  });
  // Bounded input: no more of our stdin is read until the PTY has taken the last chunk.
  let reading = true;
  const onInput = (data: Buffer): void => {
    stdin.pause();
    void sandbox.write(data).then(() => {
      if (reading) stdin.resume();
    });
  };
  // Piped input ends: ^D, so that a program reading the terminal in canonical mode sees EOF.
  const onInputEnd = (): void => {
    void sandbox.write('\x04');
  };
  const onResize = (): void => sandbox.resize(stdout.columns, stdout.rows);
  // Saved before raw mode, so that restoring it gives the terminal back as it was.
  const restoreOutput = stdout.isTTY ? passOutputUntranslated() : undefined;
  const rawMode = stdin.isTTY;
  if (rawMode) stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.once('end', onInputEnd);
  if (stdout.isTTY) stdout.on('resize', onResize);
  try {
    return await sandbox.result;
  } finally {
    reading = false;
    output.dispose();
    stdin.off('data', onInput);
    stdin.off('end', onInputEnd);
    stdout.off('resize', onResize);
    if (rawMode) stdin.setRawMode(false);
    restoreOutput?.();
    stdin.pause(); // let the event loop end
  }
}

/**
 * Turns off output processing (OPOST) on the terminal of our stdout, as `ssh -t` and
 * `docker run -t` do: the sandbox's PTY already turned its `\n` into `\r\n`, and a second
 * ONLCR would make that `\r\r\n`. Node's setRawMode cannot: libuv's UV_TTY_MODE_RAW keeps
 * ONLCR (src/unix/tty.c), and Node has no termios API, hence stty(1) on our fd 1. Returns
 * the function that restores the saved settings. Without stty the output is only cosmetically
 * different (an extra CR), so a failure here is not an error.
 */
function passOutputUntranslated(): (() => void) | undefined {
  const saved = spawnSync('stty', ['-g'], { stdio: [1, 'pipe', 'ignore'], encoding: 'utf8' });
  if (saved.status !== 0 || typeof saved.stdout !== 'string') return undefined;
  const settings = saved.stdout.trim();
  if (spawnSync('stty', ['-opost'], { stdio: [1, 'ignore', 'ignore'] }).status !== 0) return undefined;
  return () => {
    spawnSync('stty', [settings], { stdio: [1, 'ignore', 'ignore'] });
  };
}

export function runJsonReport(result: SandboxResult): RunJsonReport {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    reason: result.reason,
    status: result.status,
    cpuMs: result.cpuMs,
    peakMemoryBytes: result.peakMemoryBytes,
    oomKills: result.oomKills,
    wallMs: result.wallMs,
    hostUid: result.hostUid,
    error: result.error === undefined ? null : { code: result.error.code, message: result.error.message },
  };
}

/**
 * The report file is opened (created, no symlink followed) BEFORE the sandbox starts and
 * written through that descriptor after it ended: a sandbox with a writable bind over the
 * report's directory could otherwise plant a symlink there and have this root process
 * overwrite any host file (found by test/security: report-symlink).
 */
async function openJsonReport(file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new SandgateError('SG_CONFIG_INVALID', `--json-report ${file} cannot be opened for writing (symlinks are refused): ${error instanceof Error ? error.message : String(error)}`, {
      option: '--json-report',
    });
  }
}

async function writeJsonReport(handle: fs.FileHandle, file: string, result: SandboxResult): Promise<void> {
  try {
    await handle.truncate(0);
    await handle.write(`${JSON.stringify(runJsonReport(result))}\n`, 0);
    await handle.close();
  } catch (error) {
    throw new SandgateError('SG_CONFIG_INVALID', `--json-report ${file} cannot be written: ${error instanceof Error ? error.message : String(error)}`, {
      option: '--json-report',
    });
  }
}
