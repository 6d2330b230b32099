import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { openCgroupDriver, type CgroupDriver } from '../../../server/sandbox/cgroup/cgroup-driver.js';
import { readCgroupLayout, newSandboxCgroupName, readProcessIdentity, type ProcessIdentity } from '../../../server/sandbox/cgroup/cgroup-layout.js';
import { NodeCgroupFs } from '../../../server/sandbox/cgroup/cgroup-fs.js';
import { reapStaleSandboxCgroups } from '../../../server/sandbox/cgroup/cgroup-reaper.js';

// These run against the real cgroup v1 hierarchies of this host (/sys/fs/cgroup/<controller>),
// each test in a private tree `<own cgroup>/sandgate-test-<random>` that it removes again.

const MiB = 1024 * 1024;

async function self(): Promise<ProcessIdentity> {
  const identity = await readProcessIdentity(process.pid);
  if (identity === undefined) throw new Error('no /proc/self/stat');
  return identity;
}

async function privateDriver(t: ExecutionContext): Promise<CgroupDriver> {
  const layout = await readCgroupLayout(new NodeCgroupFs());
  if (layout.version !== 1) throw new Error(`these tests need cgroup v1, this host resolves to v${layout.version}`);
  const driver = await openCgroupDriver({ layout, treeName: `sandgate-test-${randomBytes(4).toString('hex')}` });
  t.teardown(async () => {
    for (const tree of driver.treeDirs) {
      const children = await fs.readdir(tree, { withFileTypes: true }).catch(() => []);
      for (const child of children) if (child.isDirectory()) await fs.rmdir(path.join(tree, child.name));
      await fs.rmdir(tree).catch(() => undefined); // already gone with its last sandbox
    }
  });
  return driver;
}

async function read(file: string): Promise<string> {
  return (await fs.readFile(file, 'utf8')).trim();
}

function dirOf(dirs: readonly string[], controller: string): string {
  const dir = dirs.find((candidate) => candidate.startsWith(`/sys/fs/cgroup/${controller}/`));
  if (dir === undefined) throw new Error(`no ${controller} directory in ${dirs.join(', ')}`);
  return dir;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

/** A child of this test (ours to move) placed into every hierarchy of `dirs`. */
async function childIn(dirs: readonly string[], command: string, args: string[]): Promise<ChildProcess & { pid: number }> {
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  await once(child, 'spawn');
  const pid = child.pid;
  if (pid === undefined) throw new Error('child without pid');
  for (const dir of dirs) await fs.writeFile(path.join(dir, 'cgroup.procs'), String(pid));
  return Object.assign(child, { pid });
}

test('create writes the limits into the v1 files; remove is idempotent and leaves no directory', async (t) => {
  const driver = await privateDriver(t);
  const cgroup = await driver.create(newSandboxCgroupName(await self()), { memoryBytes: 64 * MiB, pids: 32, cpuCores: 0.5 });

  t.is(cgroup.dirs.length, driver.treeDirs.length);
  for (const controller of ['memory', 'pids', 'cpu', 'cpuacct', 'freezer']) t.true(await exists(dirOf(cgroup.dirs, controller)));
  const memory = dirOf(cgroup.dirs, 'memory');
  t.is(await read(path.join(memory, 'memory.limit_in_bytes')), String(64 * MiB));
  if (await exists(path.join(memory, 'memory.memsw.limit_in_bytes'))) {
    t.is(await read(path.join(memory, 'memory.memsw.limit_in_bytes')), String(64 * MiB));
  }
  t.is(await read(path.join(dirOf(cgroup.dirs, 'pids'), 'pids.max')), '32');
  t.is(await read(path.join(dirOf(cgroup.dirs, 'cpu'), 'cpu.cfs_period_us')), '100000');
  t.is(await read(path.join(dirOf(cgroup.dirs, 'cpu'), 'cpu.cfs_quota_us')), '50000');
  t.deepEqual(await cgroup.readUsage(), { cpuUsageNs: 0, memoryCurrentBytes: 0, memoryPeakBytes: 0, oomKills: 0, pidsCurrent: 0 });

  await cgroup.remove();
  await cgroup.remove();
  for (const dir of [...cgroup.dirs, ...driver.treeDirs]) t.false(await exists(dir), dir);
});

test('setMemory raises and lowers the limit, memsw following (never below the limit)', async (t) => {
  const driver = await privateDriver(t);
  const cgroup = await driver.create(newSandboxCgroupName(await self()), { memoryBytes: 64 * MiB, pids: 32, cpuCores: 1 });
  t.teardown(() => cgroup.remove());
  const memory = dirOf(cgroup.dirs, 'memory');
  const memsw = await exists(path.join(memory, 'memory.memsw.limit_in_bytes'));
  for (const bytes of [128 * MiB, 32 * MiB]) {
    await cgroup.setMemory(bytes);
    t.is(await read(path.join(memory, 'memory.limit_in_bytes')), String(bytes));
    if (memsw) t.is(await read(path.join(memory, 'memory.memsw.limit_in_bytes')), String(bytes));
  }
  await cgroup.setCpu(2);
  t.is(await read(path.join(dirOf(cgroup.dirs, 'cpu'), 'cpu.cfs_quota_us')), '200000');
});

test('killAll kills every task, also in a frozen cgroup, and remove then succeeds', async (t) => {
  const driver = await privateDriver(t);
  const cgroup = await driver.create(newSandboxCgroupName(await self()), { memoryBytes: 64 * MiB, pids: 32, cpuCores: 1 });
  const children = [await childIn(cgroup.dirs, 'sleep', ['1000']), await childIn(cgroup.dirs, 'sleep', ['1000'])];
  const exits = children.map((child) => once(child, 'exit'));
  t.is((await cgroup.readUsage()).pidsCurrent, 2);

  await cgroup.freeze();
  t.is(await read(path.join(dirOf(cgroup.dirs, 'freezer'), 'freezer.state')), 'FROZEN');
  await cgroup.killAll();
  for (const exit of await Promise.all(exits)) t.deepEqual(exit, [null, 'SIGKILL']);
  t.is(await read(path.join(dirOf(cgroup.dirs, 'freezer'), 'freezer.state')), 'THAWED');
  await cgroup.remove();
  t.false(await exists(dirOf(cgroup.dirs, 'memory')));
});

test('readUsage counts an OOM kill (memory.oom_control oom_kill) and the peak near the limit', async (t) => {
  const driver = await privateDriver(t);
  const limit = 32 * MiB;
  const cgroup = await driver.create(newSandboxCgroupName(await self()), { memoryBytes: limit, pids: 32, cpuCores: 1 });
  t.teardown(() => cgroup.remove());
  // Charges start once it is inside (v1 does not move earlier charges): it allocates on a byte from us.
  const hog = await childIn(cgroup.dirs, process.execPath, [
    '-e',
    "process.stdin.once('data', () => { const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1)); })",
  ]);
  const exit = once(hog, 'exit');
  hog.stdin?.write('go');
  t.deepEqual(await exit, [null, 'SIGKILL']);
  const usage = await cgroup.readUsage();
  t.true(usage.oomKills >= 1, `oomKills ${usage.oomKills}`);
  t.true(usage.memoryPeakBytes > limit / 2 && usage.memoryPeakBytes <= limit, `peak ${usage.memoryPeakBytes}`);
  t.true(usage.cpuUsageNs > 0);
});

test('the reaper removes stale sandbox cgroups (killing their tasks) and never touches live or foreign ones', async (t) => {
  const driver = await privateDriver(t);
  const limits = { memoryBytes: 64 * MiB, pids: 32, cpuCores: 1 };
  const me = await self();
  // Same pid, other start time: a predecessor whose pid this process reuses.
  const stale = await driver.create(newSandboxCgroupName({ pid: me.pid, startTicks: '1' }), limits);
  const live = await driver.create(newSandboxCgroupName(me), limits);
  t.teardown(() => live.remove());
  const foreignNames = ['not-a-sandbox', 'sb-1234', `sb-${'f'.repeat(16)}-0-1`];
  for (const tree of driver.treeDirs) for (const name of foreignNames) await fs.mkdir(path.join(tree, name));
  const survivor = await childIn(stale.dirs, 'sleep', ['1000']);
  const survivorExit = once(survivor, 'exit');
  const liveChild = await childIn(live.dirs, 'sleep', ['1000']);
  const liveExit = once(liveChild, 'exit');
  t.teardown(async () => {
    liveChild.kill('SIGKILL');
    await liveExit;
  });

  const outcome = await reapStaleSandboxCgroups(driver);

  t.deepEqual(outcome.removed, [stale.name]);
  t.deepEqual(outcome.spared, [live.name]);
  t.deepEqual([...outcome.foreign].sort(), [...foreignNames].sort());
  t.deepEqual(outcome.failed, []);
  t.deepEqual(await survivorExit, [null, 'SIGKILL']);
  for (const dir of stale.dirs) t.false(await exists(dir));
  for (const dir of live.dirs) t.true(await exists(dir));
  for (const tree of driver.treeDirs) for (const name of foreignNames) t.true(await exists(path.join(tree, name)));
  t.is(liveChild.exitCode, null);
  t.is(liveChild.signalCode, null);
});
