import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

import { SandgateError } from '../../errors/sandgate-error.js';
import { errnoCode, type CgroupFs } from './cgroup-fs.js';

/**
 * Where sandgate's cgroups live. ARCHITECTURE: sandboxes nest under the process's OWN cgroup
 * (from /proc/self/cgroup), in a directory `sandgate/` that sandgate creates; nothing outside
 * it is ever written. Each hierarchy is found through /proc/self/mountinfo, so a host that
 * mounts `cpu,cpuacct` together, or a container whose mount root is not `/`, works too.
 */

export const SANDGATE_CGROUP_TREE = 'sandgate';

/** Controllers a sandbox needs on cgroup v1 (each may be a separate mount, as here). */
export const V1_REQUIRED_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'] as const;
/** Used when mounted: freeze/thaw and a race-free killAll. */
export const V1_OPTIONAL_CONTROLLERS = ['freezer'] as const;
/** Controllers a sandbox needs on cgroup v2 (freezing and killing are core files there). */
export const V2_REQUIRED_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

export interface CgroupHierarchy {
  /** The controllers of this hierarchy that sandgate uses (v1: e.g. ['cpu'] or ['cpu','cpuacct']). */
  readonly controllers: readonly string[];
  readonly mountPoint: string;
  /** This process's cgroup inside the hierarchy, as /proc/self/cgroup shows it. */
  readonly ownPath: string;
  /** The absolute directory of that cgroup on this host. */
  readonly ownDir: string;
}

export interface CgroupLayout {
  readonly version: 1 | 2;
  /** v1: one per mounted hierarchy that holds a controller sandgate uses; v2: exactly one. */
  readonly hierarchies: readonly CgroupHierarchy[];
}

export interface CgroupMount {
  readonly fsType: 'cgroup' | 'cgroup2';
  /** The path inside the hierarchy that is mounted (`/` unless bind-mounted or namespaced). */
  readonly root: string;
  readonly mountPoint: string;
  /** v1: controllers from the super options (`cpu`, `cpuacct`); v2: []. */
  readonly controllers: readonly string[];
}

// cgroups(7): the v1 controllers a kernel may have; other super options (rw, name=…) are not.
const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc']);

/** proc(5): mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The cgroup and cgroup2 mounts in a /proc/<pid>/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    // proc(5): id parent major:minor root mount-point options [optional...] - fstype source super-options
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(' ');
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if ((fsType !== 'cgroup' && fsType !== 'cgroup2') || root === undefined || mountPoint === undefined) continue;
    const controllers = fsType === 'cgroup' ? superOptions.split(',').filter((option) => V1_CONTROLLERS.has(option)) : [];
    mounts.push({ fsType, root: unescapeMountField(root), mountPoint: unescapeMountField(mountPoint), controllers });
  }
  return mounts;
}

export interface ProcCgroupEntry {
  /** v1: the hierarchy's controllers (`['cpu','cpuacct']`, `['name=systemd']`); v2: []. */
  readonly controllers: readonly string[];
  readonly path: string;
  readonly unified: boolean;
}

/** cgroups(7): /proc/<pid>/cgroup lines are `hierarchy-ID:controller-list:cgroup-path`. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (match === null || match[1] === undefined || match[2] === undefined || match[3] === undefined) continue;
    const unified = match[1] === '0' && match[2] === '';
    entries.push({ controllers: unified ? [] : match[2].split(','), path: match[3], unified });
  }
  return entries;
}

/** The host directory of cgroup `cgroupPath` seen through `mount`, or undefined if the mount does not show it. */
function dirThroughMount(mount: CgroupMount, cgroupPath: string): string | undefined {
  let below: string;
  if (mount.root === '/') below = cgroupPath;
  else if (cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`)) below = cgroupPath.slice(mount.root.length);
  else return undefined;
  // resolve, not join: no trailing slash for the root cgroup (`/sys/fs/cgroup/pids`, not `…/pids/`).
  return path.resolve(mount.mountPoint, `.${below}`);
}

export interface LayoutInputs {
  /** Text of /proc/self/cgroup. */
  readonly procCgroup: string;
  /** Text of /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** Controllers in `cgroup.controllers` of this process's v2 cgroup, if there is one. */
  readonly v2Controllers: readonly string[] | undefined;
}

/** The unified (v2) hierarchy of this process, if mounted: its mount and own directory. */
export function unifiedHierarchy(inputs: Pick<LayoutInputs, 'procCgroup' | 'mountinfo'>): CgroupHierarchy | undefined {
  const entry = parseProcCgroup(inputs.procCgroup).find((candidate) => candidate.unified);
  if (entry === undefined) return undefined;
  for (const mount of parseCgroupMounts(inputs.mountinfo)) {
    if (mount.fsType !== 'cgroup2') continue;
    const ownDir = dirThroughMount(mount, entry.path);
    if (ownDir !== undefined) return { controllers: [], mountPoint: mount.mountPoint, ownPath: entry.path, ownDir };
  }
  return undefined;
}

/**
 * Decides the layout: v2 when this process's cgroup2 directory offers every controller a
 * sandbox needs (the production default), else v1 when each needed controller is mounted
 * (these machines). A mix (some controllers on each) is not supported: SG_HOST_UNSUPPORTED.
 */
export function resolveCgroupLayout(inputs: LayoutInputs): CgroupLayout {
  const unified = unifiedHierarchy(inputs);
  const v2Controllers = inputs.v2Controllers ?? [];
  if (unified !== undefined && V2_REQUIRED_CONTROLLERS.every((controller) => v2Controllers.includes(controller))) {
    return { version: 2, hierarchies: [{ ...unified, controllers: [...V2_REQUIRED_CONTROLLERS] }] };
  }

  const wanted: readonly string[] = [...V1_REQUIRED_CONTROLLERS, ...V1_OPTIONAL_CONTROLLERS];
  const mounts = parseCgroupMounts(inputs.mountinfo);
  const hierarchies: CgroupHierarchy[] = [];
  for (const entry of parseProcCgroup(inputs.procCgroup)) {
    const used = entry.controllers.filter((controller) => wanted.includes(controller));
    if (entry.unified || used.length === 0) continue;
    for (const mount of mounts) {
      if (mount.fsType !== 'cgroup' || !used.every((controller) => mount.controllers.includes(controller))) continue;
      const ownDir = dirThroughMount(mount, entry.path);
      if (ownDir === undefined) continue;
      hierarchies.push({ controllers: used, mountPoint: mount.mountPoint, ownPath: entry.path, ownDir });
      break;
    }
  }
  const found = new Set(hierarchies.flatMap((hierarchy) => hierarchy.controllers));
  const missing = V1_REQUIRED_CONTROLLERS.filter((controller) => !found.has(controller));
  if (missing.length > 0) {
    const v2Missing = V2_REQUIRED_CONTROLLERS.filter((controller) => !v2Controllers.includes(controller));
    throw new SandgateError(
      'SG_HOST_UNSUPPORTED',
      `cgroups: neither a cgroup v2 directory with ${V2_REQUIRED_CONTROLLERS.join(', ')} (missing: ${v2Missing.join(', ')}) ` +
        `nor mounted cgroup v1 controllers ${V1_REQUIRED_CONTROLLERS.join(', ')} (missing: ${missing.join(', ')}) for this process`,
      { v1Missing: missing, v2Missing },
    );
  }
  return { version: 1, hierarchies };
}

/** Reads /proc/self/cgroup, /proc/self/mountinfo and the v2 controllers, and resolves the layout. */
export async function readCgroupLayout(cgroupFs: CgroupFs): Promise<CgroupLayout> {
  const [procCgroup, mountinfo] = await Promise.all([
    fs.readFile('/proc/self/cgroup', 'utf8'),
    fs.readFile('/proc/self/mountinfo', 'utf8'),
  ]);
  const unified = unifiedHierarchy({ procCgroup, mountinfo });
  let v2Controllers: string[] | undefined;
  if (unified !== undefined) {
    const file = path.join(unified.ownDir, 'cgroup.controllers');
    if (await cgroupFs.exists(file)) v2Controllers = (await cgroupFs.read(file)).trim().split(/\s+/);
  }
  return resolveCgroupLayout({ procCgroup, mountinfo, v2Controllers });
}

// --- sandbox cgroup names -------------------------------------------------------------------

/**
 * A process identity that survives pid reuse: pid plus start time (field 22 of
 * /proc/<pid>/stat, clock ticks since boot).
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTicks: string;
}

/** The identity of a live process, or undefined once it is gone. */
export async function readProcessIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
  // proc(5): "pid (comm) state ppid …"; comm may hold spaces and ')'. Field n is at n - 3 after it.
  const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  if (startTicks === undefined || !/^\d+$/.test(startTicks)) throw new Error(`unexpected /proc/${pid}/stat format`);
  return { pid, startTicks };
}

export interface SandboxCgroupName {
  /** 16 random hex digits. */
  readonly id: string;
  /** The process that created the cgroup (a gateway or `sandgate run`). */
  readonly owner: ProcessIdentity;
}

// sb-<id>-<owner pid>-<owner start ticks>: the owner lets a reaper tell a crashed
// predecessor's cgroups from those of a live sibling that shares the tree (two CLIs in one
// shell, or a test run beside a gateway), even when the owner was created but not yet spawned.
const NAME = /^sb-([0-9a-f]{16})-([1-9]\d{0,9})-(\d{1,20})$/;

export function newSandboxCgroupName(owner: ProcessIdentity): string {
  return `sb-${randomBytes(8).toString('hex')}-${owner.pid}-${owner.startTicks}`;
}

/** The parts of a sandbox cgroup name, or undefined for any directory that is not ours. */
export function parseSandboxCgroupName(name: string): SandboxCgroupName | undefined {
  const match = NAME.exec(name);
  if (match === null || match[1] === undefined || match[2] === undefined || match[3] === undefined) return undefined;
  return { id: match[1], owner: { pid: Number(match[2]), startTicks: match[3] } };
}
