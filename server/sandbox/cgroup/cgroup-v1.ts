import path from 'node:path';

import { SandgateError } from '../../errors/sandgate-error.js';
import type { CgroupDriver, CgroupDriverOptions, CgroupLimits, CgroupUsage, SandboxCgroup } from './cgroup-driver.js';
import { cpuQuotaUs } from './cgroup-driver.js';
import {
  killPids,
  killUntilEmpty,
  parseCounter,
  parseKeyedCounters,
  parsePidList,
  pollUntil,
  removeCgroupDir,
  type CgroupFs,
} from './cgroup-fs.js';
import type { CgroupHierarchy } from './cgroup-layout.js';

/**
 * cgroup v1 (what these machines have): one hierarchy per controller, or a few controllers
 * per mount. Files, from the kernel's Documentation/admin-guide/cgroup-v1/:
 * - memory.txt: `memory.limit_in_bytes`; `memory.memsw.limit_in_bytes` (memory + swap, present
 *   with swap accounting) set to the same value, so the limit cannot be dodged by swapping;
 *   peak `memory.max_usage_in_bytes`; OOM kills from the `oom_kill` line of `memory.oom_control`
 *   (FIELD-NOTES: `memory.failcnt` stays 0 when a memsw limit is set, so it is useless here).
 * - pids.txt: `pids.max`, `pids.current`.
 * - sched-bwc.rst: `cpu.cfs_period_us` / `cpu.cfs_quota_us`; cpuacct.txt: `cpuacct.usage` (ns).
 * - freezer-subsystem.txt: `freezer.state` FROZEN / THAWED, passing through FREEZING.
 * v1 has no "no internal processes" rule: the tree sits directly under our own cgroups.
 */

/** Which of our hierarchy directories holds each controller. */
interface V1Dirs {
  readonly memory: string;
  readonly pids: string;
  readonly cpu: string;
  readonly cpuacct: string;
  readonly freezer: string | undefined;
  /** Every distinct directory: what the launcher joins, what remove() removes. */
  readonly all: readonly string[];
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1;
  readonly treeDirs: readonly string[];

  constructor(
    hierarchies: readonly CgroupHierarchy[],
    private readonly fs: CgroupFs,
    private readonly options: CgroupDriverOptions,
  ) {
    this.treeDirs = hierarchies.map((hierarchy) => path.join(hierarchy.ownDir, options.treeName));
    this.controllerTrees = new Map();
    for (const [index, hierarchy] of hierarchies.entries()) {
      const tree = this.treeDirs[index];
      if (tree === undefined) continue;
      for (const controller of hierarchy.controllers) this.controllerTrees.set(controller, tree);
    }
  }

  private readonly controllerTrees: Map<string, string>;

  private dirsOf(name: string): V1Dirs {
    const inTree = (controller: string): string | undefined => {
      const tree = this.controllerTrees.get(controller);
      return tree === undefined ? undefined : path.join(tree, name);
    };
    const required = (controller: string): string => {
      const dir = inTree(controller);
      if (dir === undefined) throw new SandgateError('SG_HOST_UNSUPPORTED', `cgroup v1: the ${controller} controller is not mounted`, { controller });
      return dir;
    };
    return {
      memory: required('memory'),
      pids: required('pids'),
      cpu: required('cpu'),
      cpuacct: required('cpuacct'),
      freezer: inTree('freezer'),
      all: this.treeDirs.map((tree) => path.join(tree, name)),
    };
  }

  async create(name: string, limits: CgroupLimits): Promise<SandboxCgroup> {
    const cgroup = new CgroupV1Sandbox(name, this.dirsOf(name), this.fs, this.options);
    try {
      for (const dir of cgroup.dirs) await this.makeLeaf(dir);
      await cgroup.applyLimits(limits);
    } catch (error) {
      await cgroup.remove().catch(() => undefined); // the creation error is the one to report
      throw error;
    }
    return cgroup;
  }

  open(name: string): SandboxCgroup {
    return new CgroupV1Sandbox(name, this.dirsOf(name), this.fs, this.options);
  }

  async listChildren(): Promise<string[]> {
    const names = new Set<string>();
    for (const tree of this.treeDirs) for (const name of await this.fs.listDirs(tree)) names.add(name);
    return [...names];
  }

  /**
   * mkdir of the leaf, creating the tree directory when missing. A sibling's remove() may
   * remove an empty tree directory between the two mkdirs: then create it again (bounded).
   */
  private async makeLeaf(dir: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await this.fs.mkdir(dir);
      if (outcome === 'created') return;
      if (outcome === 'exists') throw new SandgateError('SG_CGROUP', `cgroup: ${dir} exists already`, { path: dir });
      if ((await this.fs.mkdir(path.dirname(dir))) === 'no-parent') break;
    }
    throw new SandgateError('SG_CGROUP', `cgroup: cannot create ${dir}: its parent cgroup is missing`, { path: dir });
  }
}

class CgroupV1Sandbox implements SandboxCgroup {
  readonly dirs: readonly string[];

  constructor(
    readonly name: string,
    private readonly v1: V1Dirs,
    private readonly fs: CgroupFs,
    private readonly options: CgroupDriverOptions,
  ) {
    this.dirs = v1.all;
  }

  async applyLimits(limits: CgroupLimits): Promise<void> {
    await this.setMemory(limits.memoryBytes);
    await this.fs.write(path.join(this.v1.pids, 'pids.max'), String(limits.pids));
    await this.fs.write(path.join(this.v1.cpu, 'cpu.cfs_period_us'), String(this.options.cpuPeriodUs));
    await this.setCpu(limits.cpuCores);
  }

  async readUsage(): Promise<CgroupUsage> {
    const file = (dir: string, name: string): string => path.join(dir, name);
    const number = async (dir: string, name: string): Promise<number> => parseCounter(await this.fs.read(file(dir, name)), file(dir, name));
    const [cpuUsageNs, memoryCurrentBytes, memoryPeakBytes, oomControl, pidsCurrent] = await Promise.all([
      number(this.v1.cpuacct, 'cpuacct.usage'),
      number(this.v1.memory, 'memory.usage_in_bytes'),
      number(this.v1.memory, 'memory.max_usage_in_bytes'),
      this.fs.read(file(this.v1.memory, 'memory.oom_control')),
      number(this.v1.pids, 'pids.current'),
    ]);
    // The `oom_kill` line exists since Linux 4.13; older kernels report 0 kills.
    const oomKills = parseKeyedCounters(oomControl).get('oom_kill') ?? 0;
    return { cpuUsageNs, memoryCurrentBytes, memoryPeakBytes, oomKills, pidsCurrent };
  }

  async freeze(): Promise<void> {
    if (!(await this.tryFreeze())) {
      throw new SandgateError('SG_CGROUP', `cgroup: ${this.name} did not reach FROZEN within ${this.options.freezeTimeoutMs} ms`, {
        name: this.name,
        freezeTimeoutMs: this.options.freezeTimeoutMs,
      });
    }
  }

  async thaw(): Promise<void> {
    await this.fs.write(path.join(this.freezerDir(), 'freezer.state'), 'THAWED');
  }

  async setCpu(cores: number): Promise<void> {
    await this.fs.write(path.join(this.v1.cpu, 'cpu.cfs_quota_us'), String(cpuQuotaUs(cores, this.options)));
  }

  /**
   * memsw must stay ≥ the memory limit at every step (the kernel answers EINVAL otherwise):
   * when raising, memsw goes first; when lowering, the memory limit goes first.
   */
  async setMemory(bytes: number): Promise<void> {
    const limitFile = path.join(this.v1.memory, 'memory.limit_in_bytes');
    const memswFile = path.join(this.v1.memory, 'memory.memsw.limit_in_bytes');
    const value = String(bytes);
    if (!(await this.fs.exists(memswFile))) {
      // Without swap accounting the limit could be exceeded through swap: keep this cgroup's
      // anonymous pages out of swap instead (memory.txt, memory.swappiness).
      await this.fs.write(limitFile, value);
      await this.fs.write(path.join(this.v1.memory, 'memory.swappiness'), '0');
      return;
    }
    const current = parseCounter(await this.fs.read(limitFile), limitFile);
    if (bytes >= current) {
      await this.fs.write(memswFile, value);
      await this.fs.write(limitFile, value);
    } else {
      await this.fs.write(limitFile, value);
      await this.fs.write(memswFile, value);
    }
  }

  /**
   * Freeze, SIGKILL every task, thaw: a frozen cgroup cannot fork a task we would miss, and
   * its tasks cannot exit so their pids cannot be reused under us (the approach of runc's v1
   * signalAllProcesses). FIELD-NOTES: frozen tasks ignore SIGKILL until thawed, so the thaw
   * always follows, also when the cgroup was frozen before. Without a freezer, kill until empty.
   */
  async killAll(): Promise<void> {
    if (this.v1.freezer !== undefined && (await this.fs.exists(this.v1.freezer))) {
      await this.tryFreeze();
      killPids(await this.tasks());
      await this.thaw();
    }
    await killUntilEmpty(this.name, () => this.tasks(), this.options.killTimeoutMs);
  }

  async remove(): Promise<void> {
    const results = await Promise.all(
      this.dirs.map(async (dir) => ({ dir, removed: await removeCgroupDir(this.fs, dir, { timeoutMs: this.options.removeTimeoutMs }) })),
    );
    const busy = results.filter((result) => !result.removed).map((result) => result.dir);
    if (busy.length > 0) {
      throw new SandgateError('SG_CGROUP', `cgroup: ${busy.join(', ')} still busy after ${this.options.removeTimeoutMs} ms`, {
        busy,
        pids: await this.tasks(),
        removeTimeoutMs: this.options.removeTimeoutMs,
      });
    }
    // Leave no trace: the tree directory goes too once its last sandbox is gone. A sibling's
    // leaf keeps it busy (EBUSY, ignored); a sibling's create() re-creates it if needed.
    for (const dir of this.dirs) await this.fs.rmdir(path.dirname(dir));
  }

  private freezerDir(): string {
    if (this.v1.freezer === undefined) {
      throw new SandgateError('SG_HOST_UNSUPPORTED', 'cgroup v1: the freezer controller is not mounted', { controller: 'freezer' });
    }
    return this.v1.freezer;
  }

  private async tryFreeze(): Promise<boolean> {
    const stateFile = path.join(this.freezerDir(), 'freezer.state');
    await this.fs.write(stateFile, 'FROZEN');
    return pollUntil(async () => (await this.fs.read(stateFile)).trim() === 'FROZEN', { timeoutMs: this.options.freezeTimeoutMs });
  }

  /** Every task in any of the sandbox's hierarchies (they should agree; a union is safe). */
  private async tasks(): Promise<number[]> {
    const pids = new Set<number>();
    for (const dir of this.dirs) {
      const procs = await this.fs.readOptional(path.join(dir, 'cgroup.procs'));
      for (const pid of parsePidList(procs ?? '')) pids.add(pid);
    }
    return [...pids];
  }
}
