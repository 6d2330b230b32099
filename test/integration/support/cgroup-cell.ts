import fs from 'node:fs';
import path from 'node:path';

import { errnoCode } from './errno-code.js';
import { waitUntil } from './wait-until.js';

/**
 * A private cgroup parent ("cell") in every hierarchy this process belongs to. A CLI started
 * inside it builds its tree at `<cell>/sandgate/sb-*` (sandgate nests under its own cgroup,
 * read from /proc/self/cgroup), so the leak checks see this run only, even while other test
 * files start sandboxes of their own under the shared tree.
 */

export interface CgroupHierarchy {
  /** As in /proc/<pid>/cgroup: `memory`, `cpu,cpuacct`, `name=systemd`, or `` for cgroup2. */
  readonly controllers: string;
  /** The process's own cgroup directory in this hierarchy, absolute on the host. */
  readonly dir: string;
}

interface CgroupMount {
  readonly fsType: 'cgroup' | 'cgroup2';
  readonly root: string;
  readonly mountPoint: string;
  readonly superOptions: readonly string[];
}

/** Mount-point fields of /proc/self/mountinfo escape space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function cgroupMounts(): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // proc(5): id parent major:minor root mount-point options [optional...] - fstype source super-options
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions] = right.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if ((fsType !== 'cgroup' && fsType !== 'cgroup2') || root === undefined || mountPoint === undefined) continue;
    mounts.push({
      fsType,
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      superOptions: (superOptions ?? '').split(','),
    });
  }
  return mounts;
}

/** Every hierarchy `pid` belongs to that is mounted here, with its directory on the host. */
export function cgroupHierarchiesOf(pid: number | 'self'): CgroupHierarchy[] {
  const mounts = cgroupMounts();
  const hierarchies: CgroupHierarchy[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    const controllers = match[2] ?? '';
    const cgroupPath = match[3] ?? '/';
    const wanted = controllers === '' ? [] : controllers.split(',');
    const mount = mounts.find((m) =>
      controllers === '' ? m.fsType === 'cgroup2' : m.fsType === 'cgroup' && wanted.every((c) => m.superOptions.includes(c)),
    );
    if (mount === undefined) continue;
    const relative = path.posix.relative(mount.root, cgroupPath);
    if (relative.startsWith('..')) continue; // the cgroup lies outside this mount's view
    hierarchies.push({ controllers, dir: path.posix.join(mount.mountPoint, relative) });
  }
  return hierarchies;
}

function readPids(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((s) => s !== '')
      .map(Number);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** Every directory strictly below `dir`, deepest first. */
function descendantsOf(dir: string): string[] {
  const found: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return found;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const child = path.join(dir, entry.name);
    found.push(...descendantsOf(child), child);
  }
  return found;
}

let cellCount = 0;

/** The directory `createdEntries` makes to flush the watch. */
const BARRIER = 'sgtest-barrier';

export class CgroupCell {
  private watchers: fs.FSWatcher[] = [];
  private readonly created: string[] = [];

  private constructor(readonly hierarchies: readonly CgroupHierarchy[]) {}

  /** Creates the cell below this process's own cgroup in every hierarchy. */
  static create(): CgroupCell {
    cellCount += 1;
    const name = `sgtest-${process.pid}-${cellCount}`;
    const hierarchies = cgroupHierarchiesOf('self').map((h) => ({ controllers: h.controllers, dir: path.join(h.dir, name) }));
    const cell = new CgroupCell(hierarchies);
    for (const { dir } of hierarchies) {
      fs.mkdirSync(dir);
      // cpuset(7): a new v1 cpuset has empty cpus/mems and refuses tasks until they are set.
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        const own = path.join(dir, file);
        if (fs.existsSync(own) && fs.readFileSync(own, 'utf8').trim() === '') {
          fs.writeFileSync(own, fs.readFileSync(path.join(dir, '..', file), 'utf8'));
        }
      }
    }
    return cell;
  }

  /** The `cgroup.procs` files a process writes its pid to, to join the cell everywhere. */
  get procsFiles(): string[] {
    return this.hierarchies.map((h) => path.join(h.dir, 'cgroup.procs'));
  }

  /** True when `dir` lies inside this cell (in any hierarchy). */
  contains(dir: string): boolean {
    return this.hierarchies.some((h) => dir.startsWith(h.dir + '/'));
  }

  /** Every cgroup below the cell in every hierarchy (e.g. `<cell>/sandgate/sb-1`), deepest first. */
  descendants(): string[] {
    return this.hierarchies.flatMap((h) => descendantsOf(h.dir));
  }

  /**
   * Starts recording every entry created directly in the cell (inotify works on cgroupfs): a
   * cgroup made and removed again between two looks is still seen.
   */
  watchCreations(): void {
    for (const { dir } of this.hierarchies) {
      this.watchers.push(
        // 'rename' is a creation or removal; 'change' a write (the CLI joining via cgroup.procs).
        fs.watch(dir, (event, name) => {
          if (event === 'rename' && name !== null) this.created.push(path.join(dir, name.toString()));
        }),
      );
    }
  }

  /**
   * Everything the watch has seen created in the cell up to now. inotify queues events in
   * order, so a barrier directory made now and seen by the watch proves that every earlier
   * creation has been delivered too (no settling time).
   */
  async createdEntries(): Promise<string[]> {
    const barriers = this.hierarchies.map((h) => path.join(h.dir, BARRIER));
    for (const barrier of barriers) fs.mkdirSync(barrier);
    try {
      await waitUntil(
        'the cell watch to deliver the barrier creations',
        () =>
          barriers.every((b) => this.created.includes(b))
            ? { done: true, value: undefined }
            : { done: false, state: this.created.join(' ') },
        { timeoutMs: 5_000, intervalMs: 5 },
      );
    } finally {
      for (const barrier of barriers) fs.rmdirSync(barrier);
    }
    return [...new Set(this.created)].filter((entry) => path.basename(entry) !== BARRIER);
  }

  /**
   * Removes the cell: SIGKILLs whatever a failed test left in it, thaws frozen cgroups (a
   * frozen task ignores SIGKILL), then removes the directories deepest first (rmdir is EBUSY
   * until the last task is gone). Safe to call twice.
   */
  async dispose(): Promise<void> {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    const dirs = [...this.descendants(), ...this.hierarchies.map((h) => h.dir)];
    for (const dir of dirs) {
      const freezerState = path.join(dir, 'freezer.state');
      if (fs.existsSync(freezerState)) fs.writeFileSync(freezerState, 'THAWED');
      for (const pid of readPids(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (error) {
          if (errnoCode(error) !== 'ESRCH') throw error;
        }
      }
    }
    for (const dir of dirs) {
      await waitUntil(
        `removal of ${dir}`,
        () => {
          try {
            fs.rmdirSync(dir);
            return { done: true, value: undefined };
          } catch (error) {
            const code = errnoCode(error);
            if (code === 'ENOENT') return { done: true, value: undefined };
            if (code === 'EBUSY') return { done: false, state: `EBUSY, tasks: ${readPids(dir).join(' ')}` };
            throw error;
          }
        },
        { timeoutMs: 10_000 },
      );
    }
  }
}
