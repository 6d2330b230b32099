import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { SandgateError, isSandgateError } from '../errors/sandgate-error.js';
import { openCgroupDriver, type CgroupDriver } from './cgroup/cgroup-driver.js';
import { newSandboxCgroupName, parseSandboxCgroupName, readProcessIdentity, type ProcessIdentity } from './cgroup/cgroup-layout.js';
import { isOwnerAlive, reapStaleSandboxCgroups, type ReapOutcome } from './cgroup/cgroup-reaper.js';
import { encodeLaunchPlan } from './launch-plan.js';
import { locateLauncherBinaries, type LauncherBinaries } from './launcher-binary.js';
import { nativeAddon } from './native-addon.js';
import { newPtyEndNonce } from './pty-end-marker.js';
import { PtySandbox, ptyLauncher } from './pty-sandbox.js';
import type { SandboxSpec, SeccompProfile } from './sandbox-spec.js';
import { PipedSandbox, childProcessLauncher, type SandboxProcessOptions, type SandboxResources } from './sandbox-process.js';

/**
 * Runs validated SandboxSpecs: per sandbox, a cgroup with the spec's limits, a report path,
 * the launch plan, and `sandgate-launcher` spawned with the plan as its ONLY environment
 * variable (nothing of process.env reaches it) — on pipes / inherited stdio (PipedSandbox) or
 * on a PTY (PtySandbox). Each returned sandbox owns those resources and releases them itself
 * when it ends (sandbox-process.ts).
 *
 * Everything a spawn needs that does not depend on the spec is done once, in open(): the
 * seccomp filter is compiled there (the launcher only loads it), the launcher located, the
 * cgroup layout read. What remains per spawn is the plan, the cgroup (a few synchronous
 * cgroupfs calls, see cgroup-fs.ts) and the spawn itself.
 *
 * The report is a file directly in the report directory, named after the sandbox's cgroup
 * (64 random bits), not a directory of ours: when its caller dies (a SIGKILLed CLI or
 * gateway) the launcher removes the report path and the cgroups itself
 * (launcher-contract.md), so nothing is left behind — a directory would outlive it. The name
 * cannot be guessed, the launcher writes it through an O_NOFOLLOW temp file and a rename,
 * and it is read with O_NOFOLLOW. Should the caller die after the launcher exited but before
 * its clean-up, reapStale() removes both at the next start.
 */

/** A launcher's report file: sandgate-report-<sandbox cgroup name>.json (reportPathOf). */
const REPORT_FILE = /^sandgate-report-(sb-[0-9a-f-]+)\.json$/;

/** What reapStale removed: stale cgroups (cgroup-reaper.ts) and stale report files. */
export interface StaleReapOutcome extends ReapOutcome {
  /** Report files of dead owners that were removed, file names. */
  readonly reports: readonly string[];
}

export const SANDBOX_RUNNER_DEFAULTS = Object.freeze({
  /** First host uid the launcher may lease for a sandbox user (one per concurrent sandbox). */
  uidRangeStart: 600_000,
  /** Number of host uids in the lease range: the most sandboxes that can run at once. */
  uidRangeCount: 65_536,
  /** kill(): wait for the launcher after killing the cgroup's tasks, then SIGKILL it, ms. */
  killGraceMs: 2000,
  /** Terminal size of a PTY sandbox when the caller gives none, cells. */
  ptyCols: 80,
  ptyRows: 24,
});

export interface SandboxRunnerOptions {
  readonly uidRange?: { readonly start: number; readonly count: number };
  /** Directory of the launchers' report files (default: os.tmpdir()). */
  readonly reportDir?: string;
  readonly killGraceMs?: number;
  /** Default: this process's cgroups (openCgroupDriver()). */
  readonly cgroupDriver?: CgroupDriver;
  /** Default: build/Release of the sandgate package (locateLauncherBinaries()). */
  readonly binaries?: LauncherBinaries;
  /** Default: each profile compiled by the addon (nativeAddon().seccompFilter(profile, 'bpf')). */
  readonly seccompPrograms?: Readonly<Record<SeccompProfile, Uint8Array>>;
}

export interface PipedSpawnOptions {
  /** 'inherit': the command uses this process's stdin/stdout/stderr (`sandgate run`). */
  readonly stdio: 'inherit' | 'pipe';
  /**
   * Start the launcher in a session of its own so that terminal signals (Ctrl-C) reach the
   * sandbox once, through whoever forwards them, instead of twice. Default false.
   */
  readonly newSession?: boolean;
}

export interface PtySpawnOptions {
  readonly cols?: number;
  readonly rows?: number;
}

/** What prepare() made for one sandbox before the spawn. */
interface Prepared {
  readonly plan: string;
  readonly resources: SandboxResources;
}

/** Resolves on the child's 'spawn' event, rejects on an 'error' before it (ENOENT, EACCES, E2BIG). */
function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      child.off('spawn', onSpawn);
      reject(error);
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

export class SandboxRunner {
  private constructor(
    readonly cgroups: CgroupDriver,
    readonly binaries: LauncherBinaries,
    private readonly owner: ProcessIdentity,
    private readonly settings: {
      readonly uidRange: { readonly start: number; readonly count: number };
      readonly reportDir: string;
      readonly killGraceMs: number;
      readonly seccompPrograms: Readonly<Record<SeccompProfile, Uint8Array>>;
    },
  ) {}

  /** Finds the launcher and this process's cgroups (on v2 this may move the process, see cgroup-v2.ts). */
  static async open(options: SandboxRunnerOptions = {}): Promise<SandboxRunner> {
    const binaries = options.binaries ?? (await locateLauncherBinaries());
    const cgroups = options.cgroupDriver ?? (await openCgroupDriver());
    const owner = await readProcessIdentity(process.pid);
    if (owner === undefined) throw new Error('cannot read /proc/self/stat');
    return new SandboxRunner(cgroups, binaries, owner, {
      uidRange: options.uidRange ?? { start: SANDBOX_RUNNER_DEFAULTS.uidRangeStart, count: SANDBOX_RUNNER_DEFAULTS.uidRangeCount },
      reportDir: options.reportDir ?? os.tmpdir(),
      killGraceMs: options.killGraceMs ?? SANDBOX_RUNNER_DEFAULTS.killGraceMs,
      seccompPrograms: options.seccompPrograms ?? { default: nativeAddon().seccompFilter('default', 'bpf') },
    });
  }

  /**
   * Removes what a crashed predecessor left: its sandbox cgroups (see cgroup-reaper.ts) and
   * report files — also reports whose cgroup is already gone (the launcher removed it, but
   * its caller was killed before it read and removed the report). A report is stale when its
   * name's owner (pid and start time, as in the cgroup name) is no longer alive; reports of a
   * live owner and files that are not ours are left alone. Call at start-up.
   */
  async reapStale(): Promise<StaleReapOutcome> {
    const outcome = await reapStaleSandboxCgroups(this.cgroups);
    for (const name of outcome.removed) await fs.rm(this.reportPathOf(name), { force: true });
    const reports: string[] = [];
    for (const file of await fs.readdir(this.settings.reportDir).catch(() => [])) {
      const name = REPORT_FILE.exec(file)?.[1];
      const parsed = name === undefined ? undefined : parseSandboxCgroupName(name);
      if (parsed === undefined || (await isOwnerAlive(parsed.owner))) continue;
      await fs.rm(path.join(this.settings.reportDir, file), { force: true });
      reports.push(file);
    }
    return { ...outcome, reports };
  }

  private reportPathOf(cgroupName: string): string {
    return path.join(this.settings.reportDir, `sandgate-report-${cgroupName}.json`);
  }

  async spawnPiped(spec: SandboxSpec, options: PipedSpawnOptions): Promise<PipedSandbox> {
    const prepared = await this.prepare(spec);
    const stdio: StdioOptions = options.stdio === 'inherit' ? 'inherit' : 'pipe';
    try {
      const spawnedAt = performance.now();
      const child = spawn(this.binaries.launcher, [], {
        env: { SANDGATE_LAUNCH_PLAN: prepared.plan },
        stdio,
        cwd: '/',
        detached: options.newSession ?? false,
      });
      await spawned(child);
      const pid = child.pid;
      if (pid === undefined) throw new Error('spawned without a pid');
      return new PipedSandbox(child, childProcessLauncher(child, pid), prepared.resources, this.processOptions(spawnedAt));
    } catch (error) {
      throw await this.abandon(prepared.resources, error);
    }
  }

  async spawnPty(spec: SandboxSpec, options: PtySpawnOptions = {}): Promise<PtySandbox> {
    const pty = await import('node-pty').catch((error: unknown) => {
      throw new SandgateError('SG_NATIVE_LOAD', `node-pty could not be loaded: ${error instanceof Error ? error.message : String(error)}`, {}, { cause: error });
    });
    // The end of its output is marked in band (pty-end-marker.ts).
    const ptyEndNonce = newPtyEndNonce();
    const prepared = await this.prepare(spec, ptyEndNonce);
    try {
      const spawnedAt = performance.now();
      // node-pty adds TERM (from `name`) and PWD to this environment; the launcher passes
      // neither on: the sandbox gets the plan's env only.
      const term = pty.spawn(this.binaries.launcher, [], {
        name: spec.env['TERM'] ?? 'xterm-256color',
        cols: options.cols ?? SANDBOX_RUNNER_DEFAULTS.ptyCols,
        rows: options.rows ?? SANDBOX_RUNNER_DEFAULTS.ptyRows,
        cwd: '/',
        env: { SANDGATE_LAUNCH_PLAN: prepared.plan },
        encoding: null,
      });
      // Made in the tick of the fork: the master is close-on-exec before any other child starts.
      return new PtySandbox(term, ptyLauncher(term), prepared.resources, this.processOptions(spawnedAt), ptyEndNonce);
    } catch (error) {
      throw await this.abandon(prepared.resources, error);
    }
  }

  private processOptions(spawnedAt: number): SandboxProcessOptions {
    return { killGraceMs: this.settings.killGraceMs, spawnedAt };
  }

  /**
   * Plan, then cgroup: the plan is encoded (and may be refused as too large) before any
   * cgroup exists; its cgroup directories are known from the name alone.
   */
  private async prepare(spec: SandboxSpec, ptyEndNonce?: string): Promise<Prepared> {
    const name = newSandboxCgroupName(this.owner);
    const reportPath = this.reportPathOf(name);
    const plan = encodeLaunchPlan(spec, {
      uidRange: this.settings.uidRange,
      cgroupDirs: this.cgroups.open(name).dirs,
      reportPath,
      seccompPrograms: this.settings.seccompPrograms,
      ptyEndNonce,
    });
    const cgroup = await this.cgroups.create(name, spec.limits); // removes itself if it fails
    return { plan, resources: { cgroup, reportPath } };
  }

  /** Releases what prepare() made when the spawn failed; returns the error to throw. */
  private async abandon(resources: SandboxResources, error: unknown): Promise<SandgateError> {
    await resources.cgroup.remove().catch(() => undefined); // nothing ran in it; the spawn error matters
    await fs.rm(resources.reportPath, { force: true });
    if (isSandgateError(error)) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new SandgateError('SG_SANDBOX_SPAWN', `cannot start ${this.binaries.launcher}: ${reason}`, { launcher: this.binaries.launcher }, { cause: error });
  }
}
