import fs from 'node:fs/promises';
import path from 'node:path';

import { SandgateError } from '../../../server/errors/sandgate-error.js';
import { NodeCgroupFs, parsePidList } from '../../../server/sandbox/cgroup/cgroup-fs.js';

/**
 * A cgroup v2 filesystem in a temp dir, for hosts without v2 controllers (these machines).
 * It mimics the kernel rules the driver relies on (Documentation/admin-guide/cgroup-v2.rst):
 * mkdir populates the core files and the files of the controllers the parent enables;
 * rmdir fails with EBUSY while the cgroup has processes or children; enabling controllers
 * fails while the cgroup holds processes ("no internal processes"); a process lives in
 * exactly one cgroup; writes to files that do not exist fail; cgroup.kill empties the
 * cgroup and cgroup.freeze sets `frozen` in cgroup.events. Pids are plain numbers here:
 * nothing is ever signalled.
 */
export class FakeCgroupV2Fs extends NodeCgroupFs {
  /** Every value written, in order: what the driver did. */
  readonly writes: { readonly path: string; readonly value: string }[] = [];

  private constructor(readonly root: string) {
    super();
  }

  /** A root cgroup offering `controllers`, all enabled for its children (as on a systemd host). */
  static async create(root: string, controllers: readonly string[]): Promise<FakeCgroupV2Fs> {
    const fake = new FakeCgroupV2Fs(root);
    await fake.populate(root, controllers);
    await fs.writeFile(path.join(root, 'cgroup.subtree_control'), controllers.join(' '));
    return fake;
  }

  /** Makes `dir` (under root) a cgroup holding `pids`, as if set up by systemd or a container runtime. */
  async makeCgroup(relative: string, options: { pids?: readonly number[]; subtreeControl?: readonly string[] } = {}): Promise<string> {
    const dir = path.join(this.root, relative);
    await fs.mkdir(dir);
    await this.populate(dir, await this.enabledIn(path.dirname(dir)));
    await fs.writeFile(path.join(dir, 'cgroup.procs'), (options.pids ?? []).map((pid) => `${pid}\n`).join(''));
    await fs.writeFile(path.join(dir, 'cgroup.subtree_control'), (options.subtreeControl ?? []).join(' '));
    return dir;
  }

  /** Reads a file as the test's view of the kernel state. */
  async text(file: string): Promise<string> {
    return (await fs.readFile(file, 'utf8')).trim();
  }

  /** Sets a file's content as the kernel would (usage counters, events). */
  async set(file: string, content: string): Promise<void> {
    await fs.writeFile(file, content);
  }

  override async mkdir(dir: string): Promise<'created' | 'exists' | 'no-parent'> {
    const outcome = await super.mkdir(dir);
    if (outcome === 'created') await this.populate(dir, await this.enabledIn(path.dirname(dir)));
    return outcome;
  }

  override async rmdir(dir: string): Promise<'removed' | 'absent' | 'busy'> {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) return 'absent';
    if (entries.some((entry) => entry.isDirectory())) return 'busy';
    if (parsePidList(await this.text(path.join(dir, 'cgroup.procs'))).length > 0) return 'busy';
    await fs.rm(dir, { recursive: true });
    return 'removed';
  }

  override async write(file: string, value: string): Promise<void> {
    const dir = path.dirname(file);
    if (!(await this.exists(file))) throw kernelError(file, 'ENOENT');
    this.writes.push({ path: file, value });
    switch (path.basename(file)) {
      case 'cgroup.procs':
        return this.move(Number(value), dir);
      case 'cgroup.subtree_control':
        return this.enable(dir, value);
      case 'cgroup.kill':
        await fs.writeFile(path.join(dir, 'cgroup.procs'), '');
        return this.set(path.join(dir, 'cgroup.events'), 'populated 0\nfrozen 0\n');
      case 'cgroup.freeze':
        await fs.writeFile(file, value);
        return this.set(path.join(dir, 'cgroup.events'), `populated ${(await this.procsOf(dir)).length > 0 ? 1 : 0}\nfrozen ${value.trim()}\n`);
      default:
        return super.write(file, value);
    }
  }

  private async populate(dir: string, controllers: readonly string[]): Promise<void> {
    const files: Record<string, string> = {
      'cgroup.controllers': controllers.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cgroup.events': 'populated 0\nfrozen 0\n',
      'cgroup.freeze': '0',
      'cgroup.kill': '',
      'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
    };
    if (controllers.includes('memory')) {
      Object.assign(files, { 'memory.max': 'max', 'memory.swap.max': 'max', 'memory.current': '0', 'memory.peak': '0' });
      Object.assign(files, { 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n' });
    }
    if (controllers.includes('pids')) Object.assign(files, { 'pids.max': 'max', 'pids.current': '0' });
    if (controllers.includes('cpu')) Object.assign(files, { 'cpu.max': 'max 100000' });
    for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(dir, name), content);
  }

  private async enabledIn(dir: string): Promise<string[]> {
    return (await this.text(path.join(dir, 'cgroup.subtree_control'))).split(/\s+/).filter((word) => word !== '');
  }

  private async procsOf(dir: string): Promise<number[]> {
    return parsePidList(await this.text(path.join(dir, 'cgroup.procs')));
  }

  private async enable(dir: string, value: string): Promise<void> {
    if ((await this.procsOf(dir)).length > 0) throw kernelError(path.join(dir, 'cgroup.subtree_control'), 'EBUSY');
    const available = (await this.text(path.join(dir, 'cgroup.controllers'))).split(/\s+/);
    const enabled = new Set(await this.enabledIn(dir));
    for (const word of value.split(/\s+/).filter((item) => item !== '')) {
      const controller = word.slice(1);
      if (!available.includes(controller)) throw kernelError(path.join(dir, 'cgroup.subtree_control'), 'ENOENT');
      if (word.startsWith('+')) enabled.add(controller);
      else enabled.delete(controller);
    }
    await fs.writeFile(path.join(dir, 'cgroup.subtree_control'), [...enabled].join(' '));
  }

  private async move(pid: number, target: string): Promise<void> {
    if ((await this.enabledIn(target)).length > 0) throw kernelError(path.join(target, 'cgroup.procs'), 'EBUSY');
    for (const dir of await this.cgroups(this.root)) {
      const procs = await this.procsOf(dir);
      if (procs.includes(pid)) await fs.writeFile(path.join(dir, 'cgroup.procs'), procs.filter((other) => other !== pid).map((other) => `${other}\n`).join(''));
    }
    const procs = [...(await this.procsOf(target)), pid];
    await fs.writeFile(path.join(target, 'cgroup.procs'), procs.map((other) => `${other}\n`).join(''));
  }

  private async cgroups(dir: string): Promise<string[]> {
    const children = await this.listDirs(dir);
    const nested = await Promise.all(children.map((child) => this.cgroups(path.join(dir, child))));
    return [dir, ...nested.flat()];
  }
}

function kernelError(file: string, code: string): SandgateError {
  return new SandgateError('SG_CGROUP', `cgroup: write to ${file}: ${code} (fake cgroup v2 fs)`, { path: file, errno: code });
}
