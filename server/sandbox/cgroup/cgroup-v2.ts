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
import { V2_REQUIRED_CONTROLLERS, type CgroupHierarchy } from './cgroup-layout.js';

/**
 * cgroup v2 (the production default), files from the kernel's
 * Documentation/admin-guide/cgroup-v2.rst: `memory.max`, `memory.swap.max` 0 (no swapping
 * around the limit), `memory.peak` (5.19+), `memory.events` oom_kill, `pids.max`, `cpu.max`
 * "quota period", `cpu.stat` usage_usec, `cgroup.freeze` with `cgroup.events` frozen,
 * `cgroup.kill` (5.14+).
 *
 * The "no internal processes" rule: a cgroup may enable controllers for its children
 * (`cgroup.subtree_control`) only while it holds no process itself. The gateway sits in its
 * own cgroup G, so the sandgate subtree cannot simply be created below G. Two ways out:
 * a sibling of G (writes in G's parent: a cgroup sandgate did not create, outside the
 * delegation — refused by ARCHITECTURE) or moving the gateway into a leaf of G. We do the
 * latter, as systemd asks of services with `Delegate=yes` (systemd's CGROUP_DELEGATION.md)
 * and as container inits do:
 *
 *   G/                      cgroup.subtree_control = +memory +pids +cpu   (no process)
 *   G/sandgate-gateway/     this process, moved here by prepare()
 *   G/sandgate/             cgroup.subtree_control = +memory +pids +cpu
 *   G/sandgate/sb-…         one per sandbox (the launcher's `cgroup` record)
 *
 * Only this process is ever moved. When G holds any other process, prepare() refuses with
 * SG_CGROUP: run the gateway in a cgroup of its own (a systemd unit with Delegate=yes, a
 * container). A process that starts in `G/sandgate-gateway` (a second sandgate beside the
 * first) recognises the leaf and uses G's tree.
 */

export const V2_GATEWAY_LEAF = 'sandgate-gateway';

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2;
  readonly treeDirs: readonly string[];

  private constructor(
    private readonly tree: string,
    private readonly fs: CgroupFs,
    private readonly options: CgroupDriverOptions,
  ) {
    this.treeDirs = [tree];
  }

  /** Enables the controllers sandgate needs down to `<G>/sandgate`, moving `selfPid` into a leaf if it must. */
  static async prepare(hierarchy: CgroupHierarchy, cgroupFs: CgroupFs, options: CgroupDriverOptions, selfPid: number): Promise<CgroupV2Driver> {
    const own = hierarchy.ownDir;
    const base = path.basename(own) === V2_GATEWAY_LEAF ? path.dirname(own) : own;
    const available = words(await cgroupFs.read(path.join(base, 'cgroup.controllers')));
    const missing = V2_REQUIRED_CONTROLLERS.filter((controller) => !available.includes(controller));
    if (missing.length > 0) {
      throw new SandgateError('SG_HOST_UNSUPPORTED', `cgroup v2: ${base} does not offer the ${missing.join(', ')} controller(s) to sandgate`, {
        path: base,
        missing,
      });
    }
    await enableControllers(cgroupFs, base, selfPid);
    const tree = path.join(base, options.treeName);
    if ((await cgroupFs.mkdir(tree)) === 'no-parent') {
      throw new SandgateError('SG_CGROUP', `cgroup: cannot create ${tree}: ${base} is gone`, { path: tree });
    }
    await enableControllers(cgroupFs, tree, selfPid);
    return new CgroupV2Driver(tree, cgroupFs, options);
  }

  async create(name: string, limits: CgroupLimits): Promise<SandboxCgroup> {
    const dir = path.join(this.tree, name);
    const outcome = await this.fs.mkdir(dir);
    if (outcome !== 'created') {
      throw new SandgateError('SG_CGROUP', `cgroup: cannot create ${dir}: ${outcome === 'exists' ? 'it exists already' : 'the sandgate tree is gone'}`, {
        path: dir,
      });
    }
    const cgroup = new CgroupV2Sandbox(name, dir, this.fs, this.options);
    try {
      await cgroup.applyLimits(limits);
    } catch (error) {
      await cgroup.remove().catch(() => undefined); // the limit error is the one to report
      throw error;
    }
    return cgroup;
  }

  open(name: string): SandboxCgroup {
    return new CgroupV2Sandbox(name, path.join(this.tree, name), this.fs, this.options);
  }

  async listChildren(): Promise<string[]> {
    return this.fs.listDirs(this.tree);
  }
}

/**
 * Writes the missing controllers into `dir`'s cgroup.subtree_control. If `dir` holds
 * processes, the only one allowed is `selfPid`, which moves into `dir/sandgate-gateway` first.
 */
async function enableControllers(cgroupFs: CgroupFs, dir: string, selfPid: number): Promise<void> {
  const enabled = words(await cgroupFs.read(path.join(dir, 'cgroup.subtree_control')));
  const toEnable = V2_REQUIRED_CONTROLLERS.filter((controller) => !enabled.includes(controller));
  if (toEnable.length === 0) return;
  const procs = parsePidList(await cgroupFs.read(path.join(dir, 'cgroup.procs')));
  const foreign = procs.filter((pid) => pid !== selfPid);
  if (foreign.length > 0) {
    throw new SandgateError(
      'SG_CGROUP',
      `cgroup v2: ${dir} holds processes sandgate did not start (pids ${foreign.slice(0, 8).join(', ')}), so it cannot enable ` +
        `${toEnable.join(', ')} for sandboxes; run sandgate in a cgroup of its own (systemd Delegate=yes, or a container)`,
      { path: dir, pids: foreign.slice(0, 8) },
    );
  }
  if (procs.includes(selfPid)) {
    const leaf = path.join(dir, V2_GATEWAY_LEAF);
    await cgroupFs.mkdir(leaf);
    await cgroupFs.write(path.join(leaf, 'cgroup.procs'), String(selfPid));
  }
  await cgroupFs.write(path.join(dir, 'cgroup.subtree_control'), toEnable.map((controller) => `+${controller}`).join(' '));
}

class CgroupV2Sandbox implements SandboxCgroup {
  readonly dirs: readonly string[];

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly fs: CgroupFs,
    private readonly options: CgroupDriverOptions,
  ) {
    this.dirs = [dir];
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  async applyLimits(limits: CgroupLimits): Promise<void> {
    await this.setMemory(limits.memoryBytes);
    // Absent without swap accounting (CONFIG_MEMCG_SWAP / swapaccount=0): nothing to dodge then.
    if (await this.fs.exists(this.file('memory.swap.max'))) await this.fs.write(this.file('memory.swap.max'), '0');
    await this.fs.write(this.file('pids.max'), String(limits.pids));
    await this.setCpu(limits.cpuCores);
  }

  async readUsage(): Promise<CgroupUsage> {
    const number = async (name: string): Promise<number> => parseCounter(await this.fs.read(this.file(name)), this.file(name));
    const [cpuStat, memoryCurrentBytes, peak, memoryEvents, pidsCurrent] = await Promise.all([
      this.fs.read(this.file('cpu.stat')),
      number('memory.current'),
      this.fs.readOptional(this.file('memory.peak')),
      this.fs.read(this.file('memory.events')),
      number('pids.current'),
    ]);
    return {
      cpuUsageNs: (parseKeyedCounters(cpuStat).get('usage_usec') ?? 0) * 1000,
      memoryCurrentBytes,
      // memory.peak exists since Linux 5.19; before, the current usage is the best we know.
      memoryPeakBytes: peak === undefined ? memoryCurrentBytes : parseCounter(peak, this.file('memory.peak')),
      oomKills: parseKeyedCounters(memoryEvents).get('oom_kill') ?? 0,
      pidsCurrent,
    };
  }

  async freeze(): Promise<void> {
    if (!(await this.tryFreeze())) {
      throw new SandgateError('SG_CGROUP', `cgroup: ${this.name} did not freeze within ${this.options.freezeTimeoutMs} ms`, {
        name: this.name,
        freezeTimeoutMs: this.options.freezeTimeoutMs,
      });
    }
  }

  async thaw(): Promise<void> {
    await this.fs.write(this.file('cgroup.freeze'), '0');
  }

  async setCpu(cores: number): Promise<void> {
    await this.fs.write(this.file('cpu.max'), `${cpuQuotaUs(cores, this.options)} ${this.options.cpuPeriodUs}`);
  }

  async setMemory(bytes: number): Promise<void> {
    await this.fs.write(this.file('memory.max'), String(bytes));
  }

  /**
   * `cgroup.kill` SIGKILLs the whole cgroup, racing forks correctly, frozen tasks included
   * (cgroup-v2.rst). Before 5.14: freeze, kill each task, thaw, as on v1.
   */
  async killAll(): Promise<void> {
    if (!(await this.fs.exists(this.dir))) return;
    if (await this.fs.exists(this.file('cgroup.kill'))) {
      await this.fs.write(this.file('cgroup.kill'), '1');
    } else {
      await this.tryFreeze();
      killPids(await this.tasks());
      await this.thaw();
    }
    await killUntilEmpty(this.name, () => this.tasks(), this.options.killTimeoutMs);
  }

  /** Removes the leaf only: the tree keeps its subtree_control for the next sandbox. */
  async remove(): Promise<void> {
    if (!(await removeCgroupDir(this.fs, this.dir, { timeoutMs: this.options.removeTimeoutMs }))) {
      throw new SandgateError('SG_CGROUP', `cgroup: ${this.dir} still busy after ${this.options.removeTimeoutMs} ms`, {
        busy: [this.dir],
        pids: await this.tasks(),
        removeTimeoutMs: this.options.removeTimeoutMs,
      });
    }
  }

  private async tryFreeze(): Promise<boolean> {
    await this.fs.write(this.file('cgroup.freeze'), '1');
    return pollUntil(async () => parseKeyedCounters(await this.fs.read(this.file('cgroup.events'))).get('frozen') === 1, {
      timeoutMs: this.options.freezeTimeoutMs,
    });
  }

  private async tasks(): Promise<number[]> {
    return parsePidList((await this.fs.readOptional(this.file('cgroup.procs'))) ?? '');
  }
}
