import type { CgroupFs } from './cgroup-fs.js';
import { NodeCgroupFs } from './cgroup-fs.js';
import { readCgroupLayout, SANDGATE_CGROUP_TREE, type CgroupLayout } from './cgroup-layout.js';
import { CgroupV1Driver } from './cgroup-v1.js';
import { CgroupV2Driver } from './cgroup-v2.js';

/**
 * What sandgate asks of a cgroup, whatever the version: create a sandbox's cgroup with its
 * limits, hand its directories to the launcher (which moves the sandbox in), read usage,
 * freeze/thaw and re-limit (for the monitor), kill everything in it, remove it.
 */

/** The limits a sandbox cgroup enforces (a subset of SandboxLimits). */
export interface CgroupLimits {
  /** Memory incl. tmpfs pages and page cache, bytes; swap is not allowed on top. */
  readonly memoryBytes: number;
  /** Max tasks (processes + threads). */
  readonly pids: number;
  /** CPU quota in cores (0.5 = half of one CPU per scheduling period). */
  readonly cpuCores: number;
}

export interface CgroupUsage {
  /** CPU time of all tasks, user + system, ns (cpuacct.usage / cpu.stat usage_usec). */
  readonly cpuUsageNs: number;
  readonly memoryCurrentBytes: number;
  /** High-water mark of memory usage, bytes (memory.max_usage_in_bytes / memory.peak). */
  readonly memoryPeakBytes: number;
  /** Processes the kernel's OOM killer killed in this cgroup. */
  readonly oomKills: number;
  readonly pidsCurrent: number;
}

/** One sandbox's cgroup, in every hierarchy the driver uses. */
export interface SandboxCgroup {
  /** The leaf name, `sb-…` (see cgroup-layout.ts). */
  readonly name: string;
  /** Absolute directories for the launch plan: v1 one per hierarchy, v2 one. */
  readonly dirs: readonly string[];
  readUsage(): Promise<CgroupUsage>;
  /** Stops every task (v1 freezer / v2 cgroup.freeze); resolves once frozen or after the wait bound. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  setCpu(cores: number): Promise<void>;
  setMemory(bytes: number): Promise<void>;
  /** SIGKILLs every task and waits (bounded) until none is left; a frozen cgroup is thawed. */
  killAll(): Promise<void>;
  /**
   * Removes the cgroup, polling while the kernel answers EBUSY (tasks not reaped yet), up to
   * `removeTimeoutMs`; SG_CGROUP if tasks remain. Idempotent. Does not kill: call killAll().
   */
  remove(): Promise<void>;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Directories that hold sandgate's sandbox cgroups (`<own cgroup>/sandgate`), one per hierarchy. */
  readonly treeDirs: readonly string[];
  /** Creates `<tree>/<name>` in every hierarchy and applies `limits`; nothing is left behind on failure. */
  create(name: string, limits: CgroupLimits): Promise<SandboxCgroup>;
  /** A handle on an existing sandbox cgroup (for the reaper); operations skip missing hierarchies. */
  open(name: string): SandboxCgroup;
  /** Names of the child directories of the tree (union over hierarchies), ours or not. */
  listChildren(): Promise<string[]>;
}

/** Bounds of the drivers' waits, ms. */
export const CGROUP_DRIVER_DEFAULTS = Object.freeze({
  /** How long remove() polls EBUSY before giving up, ms. */
  removeTimeoutMs: 5000,
  /** How long freeze() waits for FREEZING → FROZEN, ms. */
  freezeTimeoutMs: 1000,
  /** How long killAll() waits for the last task to be gone, ms. */
  killTimeoutMs: 5000,
  /** CFS scheduling period written with every CPU quota, µs (the kernel default). */
  cpuPeriodUs: 100_000,
  /** Smallest CFS quota the kernel accepts, µs. */
  cpuQuotaMinUs: 1000,
  /** Name of sandgate's directory under the process's own cgroup. */
  treeName: SANDGATE_CGROUP_TREE,
});

export interface CgroupDriverOptions {
  readonly removeTimeoutMs: number;
  readonly freezeTimeoutMs: number;
  readonly killTimeoutMs: number;
  readonly cpuPeriodUs: number;
  readonly cpuQuotaMinUs: number;
  /** Tests use a private tree name so that they never meet real sandboxes. */
  readonly treeName: string;
}

export interface OpenCgroupDriverOptions extends Partial<CgroupDriverOptions> {
  /** Default: read from /proc/self/cgroup and /proc/self/mountinfo. */
  readonly layout?: CgroupLayout;
  /** Default: the real cgroupfs. */
  readonly fs?: CgroupFs;
}

/** The quota for `cores` in µs per `periodUs`, never below the kernel's minimum. */
export function cpuQuotaUs(cores: number, options: Pick<CgroupDriverOptions, 'cpuPeriodUs' | 'cpuQuotaMinUs'>): number {
  return Math.max(options.cpuQuotaMinUs, Math.round(cores * options.cpuPeriodUs));
}

/**
 * The driver for this process's cgroups. On cgroup v2 this also prepares the delegated
 * subtree (see cgroup-v2.ts: it may move this process into a leaf of its own cgroup).
 */
export async function openCgroupDriver(options: OpenCgroupDriverOptions = {}): Promise<CgroupDriver> {
  const settings: CgroupDriverOptions = {
    removeTimeoutMs: options.removeTimeoutMs ?? CGROUP_DRIVER_DEFAULTS.removeTimeoutMs,
    freezeTimeoutMs: options.freezeTimeoutMs ?? CGROUP_DRIVER_DEFAULTS.freezeTimeoutMs,
    killTimeoutMs: options.killTimeoutMs ?? CGROUP_DRIVER_DEFAULTS.killTimeoutMs,
    cpuPeriodUs: options.cpuPeriodUs ?? CGROUP_DRIVER_DEFAULTS.cpuPeriodUs,
    cpuQuotaMinUs: options.cpuQuotaMinUs ?? CGROUP_DRIVER_DEFAULTS.cpuQuotaMinUs,
    treeName: options.treeName ?? CGROUP_DRIVER_DEFAULTS.treeName,
  };
  const cgroupFs = options.fs ?? new NodeCgroupFs();
  const layout = options.layout ?? (await readCgroupLayout(cgroupFs));
  if (layout.version === 1) return new CgroupV1Driver(layout.hierarchies, cgroupFs, settings);
  const [hierarchy] = layout.hierarchies;
  if (hierarchy === undefined) throw new Error('cgroup v2 layout without its hierarchy');
  return CgroupV2Driver.prepare(hierarchy, cgroupFs, settings, process.pid);
}
