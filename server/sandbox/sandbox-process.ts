import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';

import { SandgateError, isSandgateError } from '../errors/sandgate-error.js';
import type { CgroupUsage, SandboxCgroup } from './cgroup/cgroup-driver.js';
import { errnoCode } from './cgroup/cgroup-fs.js';
import { readLauncherReport, type LauncherReport } from './launcher-report.js';
import { decideSandboxResult, type SandboxResult } from './sandbox-result.js';


/** kill(): how often the cgroup is swept again while the launcher has not exited, ms. */
const KILL_SWEEP_INTERVAL_MS = 10;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One running sandbox and everything it owns: the launcher process, the cgroup, the report
 * file. When the launcher exits, the end is collected in a fixed order — report, kill
 * leftovers, cgroup counters, then remove cgroup and report — exactly once, whether or not
 * anyone calls dispose(). dispose() = kill if still running, then await that same end.
 */

export interface LauncherExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What the lifecycle needs from the launcher, however it was spawned (pipes or a PTY). */
export interface LauncherHandle {
  readonly pid: number;
  readonly exited: Promise<LauncherExit>;
}

export interface SandboxResources {
  readonly cgroup: SandboxCgroup;
  /** Where the launcher writes its report (see sandbox-runner.ts); removed at the end. */
  readonly reportPath: string;
}

export interface SandboxProcessOptions {
  /** kill(): after SIGKILLing the cgroup, how long to wait for the launcher before SIGKILLing it, ms. */
  readonly killGraceMs: number;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
}

export class SandboxProcess {
  /** Settles (never rejects) once the sandbox ended and its resources are released. */
  readonly result: Promise<SandboxResult>;
  private running = true;
  private killedByCaller = false;
  private killing: Promise<SandboxResult> | undefined;

  constructor(
    private readonly launcher: LauncherHandle,
    private readonly resources: SandboxResources,
    private readonly options: SandboxProcessOptions,
  ) {
    this.result = launcher.exited.then((exit) => {
      this.running = false;
      return this.collect(exit, performance.now() - options.spawnedAt);
    });
  }

  /** The launcher's host pid (the sandbox's processes are its descendants). */
  get pid(): number {
    return this.launcher.pid;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The cgroup, for the monitor (usage, freeze/thaw, throttling). */
  get cgroup(): SandboxCgroup {
    return this.resources.cgroup;
  }

  /**
   * Sends `signal` to the launcher, which forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2,
   * SIGWINCH and SIGCONT to the sandbox's init and on to the command (launcher-contract.md).
   * A no-op once the sandbox has ended.
   */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.launcher.pid, signal);
    } catch (error) {
      if (errnoCode(error) !== 'ESRCH') throw error; // exited meanwhile, not yet reaped by us
    }
  }

  /**
   * Ends the sandbox now: SIGKILL to every task in its cgroup, swept again every
   * KILL_SWEEP_INTERVAL_MS until the launcher has exited (tasks of a sandbox still being set up
   * join late), and SIGKILL to the launcher itself after `killGraceMs` if it has not exited —
   * its init dies with it (PR_SET_PDEATHSIG). Resolves with the result, reason `killed`.
   */
  kill(): Promise<SandboxResult> {
    if (!this.running) return this.result;
    this.killing ??= this.killNow();
    return this.killing;
  }

  /** Idempotent: kill if running, then the result once everything is released. */
  dispose(): Promise<SandboxResult> {
    return this.kill();
  }

  private async killNow(): Promise<SandboxResult> {
    this.killedByCaller = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace over'>((resolve) => {
      timer = setTimeout(() => resolve('grace over'), this.options.killGraceMs);
    });
    try {
      // A launcher still setting up has no task in the cgroup yet: one sweep would find it
      // empty and the kill would wait out the whole grace. Sweep again until the launcher has
      // exited (its child joins, is killed, and the launcher reports) or the grace is over.
      // A failing killAll still leaves the launcher SIGKILL below; collect() kills again.
      let exited = false;
      const launcherExited = this.launcher.exited.then(() => (exited = true));
      const sweeps = (async () => {
        while (!exited) {
          await this.resources.cgroup.killAll().catch(() => undefined);
          await Promise.race([launcherExited, delay(KILL_SWEEP_INTERVAL_MS)]);
        }
      })();
      if ((await Promise.race([launcherExited.then(() => 'exited' as const), grace])) === 'grace over') this.signal('SIGKILL');
      await launcherExited;
      await sweeps;
    } finally {
      clearTimeout(timer);
    }
    return this.result;
  }

  private async collect(exit: LauncherExit, measuredWallMs: number): Promise<SandboxResult> {
    let report: LauncherReport | undefined;
    let reportError: SandgateError | undefined;
    try {
      report = await readLauncherReport(this.resources.reportPath);
    } catch (error) {
      reportError = asSandgateError(error, 'SG_LAUNCH_SUPERVISOR', `reading the launcher report ${this.resources.reportPath}`);
    }
    const cleanupErrors: SandgateError[] = [];
    const cgroup = this.resources.cgroup;
    // Normally empty: init's death ends the pid namespace. Killing first makes the counters final.
    await cgroup.killAll().catch((error: unknown) => cleanupErrors.push(asSandgateError(error, 'SG_CGROUP', 'killing leftovers')));
    let usage: CgroupUsage | undefined;
    try {
      usage = await cgroup.readUsage();
    } catch (error) {
      cleanupErrors.push(asSandgateError(error, 'SG_CGROUP', 'reading usage'));
    }
    await cgroup.remove().catch((error: unknown) => cleanupErrors.push(asSandgateError(error, 'SG_CGROUP', 'removing the cgroup')));
    await fs.rm(this.resources.reportPath, { force: true }).catch((error: unknown) =>
      cleanupErrors.push(asSandgateError(error, 'SG_SANDBOX_SPAWN', `removing the report ${this.resources.reportPath}`)),
    );
    const result = decideSandboxResult({ launcherExit: exit, report, reportError, usage, killedByCaller: this.killedByCaller, measuredWallMs });
    const [cleanupError] = cleanupErrors;
    return cleanupError === undefined ? result : { ...result, cleanupError };
  }
}

function asSandgateError(error: unknown, code: 'SG_CGROUP' | 'SG_LAUNCH_SUPERVISOR' | 'SG_SANDBOX_SPAWN', doing: string): SandgateError {
  if (isSandgateError(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new SandgateError(code, `${doing}: ${reason}`, {}, { cause: error });
}

/** The launcher handle of a child_process child (already spawned). */
export function childProcessLauncher(child: ChildProcess, pid: number): LauncherHandle {
  const exited = new Promise<LauncherExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // After 'spawn', 'error' only reports a failed kill(): the exit still comes.
  child.on('error', () => undefined);
  return { pid, exited };
}

/** A sandbox on pipes or inherited stdio (`sandgate run`, exec sessions). */
export class PipedSandbox extends SandboxProcess {
  /** The command's stdin, stdout, stderr when spawned with stdio 'pipe'; null when inherited. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;

  constructor(child: ChildProcess, launcher: LauncherHandle, resources: SandboxResources, options: SandboxProcessOptions) {
    super(launcher, resources, options);
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
  }
}
