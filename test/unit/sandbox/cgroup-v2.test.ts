import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { openCgroupDriver, type CgroupDriver } from '../../../server/sandbox/cgroup/cgroup-driver.js';
import { newSandboxCgroupName, type CgroupLayout } from '../../../server/sandbox/cgroup/cgroup-layout.js';
import { reapStaleSandboxCgroups } from '../../../server/sandbox/cgroup/cgroup-reaper.js';
import { FakeCgroupV2Fs } from './fake-cgroup-v2-fs.js';

// This host has cgroup v1 only (FIELD-NOTES), so v2 is checked against a fake cgroupfs in a
// temp dir that mimics the kernel's rules (fake-cgroup-v2-fs.ts). Real v2 runs are for a v2 host.
const FAKE = '(fake cgroup v2 fs: no v2 controllers on this host)';
const MiB = 1024 * 1024;
const LIMITS = { memoryBytes: 64 * MiB, pids: 32, cpuCores: 0.5 };
const OWNER = { pid: process.pid, startTicks: '4242' };

interface Host {
  readonly fake: FakeCgroupV2Fs;
  /** The gateway's own cgroup G, e.g. a systemd unit's. */
  readonly own: string;
  readonly layout: CgroupLayout;
}

async function fakeHost(t: ExecutionContext, ownPids: readonly number[] = [process.pid], ownPath = '/gateway.service'): Promise<Host> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sandgate-fake-cgroup2-'));
  t.teardown(() => fs.rm(root, { recursive: true, force: true }));
  const fake = await FakeCgroupV2Fs.create(root, ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  const own = await fake.makeCgroup(ownPath, { pids: ownPids });
  const layout: CgroupLayout = { version: 2, hierarchies: [{ controllers: ['memory', 'pids', 'cpu'], mountPoint: root, ownPath, ownDir: own }] };
  return { fake, own, layout };
}

async function driverOn(host: Host): Promise<CgroupDriver> {
  return openCgroupDriver({ layout: host.layout, fs: host.fake });
}

test(`prepare moves only this process into a leaf and enables memory, pids, cpu down to the sandgate tree ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const driver = await driverOn(host);

  t.is(driver.version, 2);
  t.deepEqual(driver.treeDirs, [path.join(host.own, 'sandgate')]);
  t.is(await host.fake.text(path.join(host.own, 'cgroup.procs')), '');
  t.is(await host.fake.text(path.join(host.own, 'sandgate-gateway', 'cgroup.procs')), String(process.pid));
  for (const dir of [host.own, path.join(host.own, 'sandgate')]) {
    t.deepEqual((await host.fake.text(path.join(dir, 'cgroup.subtree_control'))).split(' ').sort(), ['cpu', 'memory', 'pids']);
  }
});

test(`prepare refuses, moving nothing, when the gateway's cgroup holds a process sandgate did not start ${FAKE}`, async (t) => {
  const host = await fakeHost(t, [process.pid, 1]);
  const error = await t.throwsAsync(driverOn(host));
  t.true(isSandgateError(error, 'SG_CGROUP'));
  t.is(await host.fake.text(path.join(host.own, 'cgroup.procs')), `${process.pid}\n1`);
  t.is(await host.fake.text(path.join(host.own, 'cgroup.subtree_control')), '');
  t.deepEqual(host.fake.writes, []);
});

test(`a second sandgate started inside the gateway leaf shares the tree and moves nothing ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  await driverOn(host);
  const writesBefore = host.fake.writes.length;
  const leaf = path.join(host.own, 'sandgate-gateway');
  const second = await openCgroupDriver({
    layout: { version: 2, hierarchies: [{ controllers: ['memory', 'pids', 'cpu'], mountPoint: host.fake.root, ownPath: '/gateway.service/sandgate-gateway', ownDir: leaf }] },
    fs: host.fake,
  });
  t.deepEqual(second.treeDirs, [path.join(host.own, 'sandgate')]);
  t.is(host.fake.writes.length, writesBefore);
});

test(`prepare refuses a cgroup that does not offer the memory controller ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  await host.fake.set(path.join(host.own, 'cgroup.controllers'), 'cpu pids');
  const error = await t.throwsAsync(driverOn(host));
  t.true(isSandgateError(error, 'SG_HOST_UNSUPPORTED'));
});

test(`create writes memory.max, memory.swap.max 0, pids.max and cpu.max ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const driver = await driverOn(host);
  const cgroup = await driver.create(newSandboxCgroupName(OWNER), LIMITS);
  const [dir] = cgroup.dirs;
  if (dir === undefined) throw new Error('no directory');

  t.deepEqual(cgroup.dirs, [path.join(host.own, 'sandgate', cgroup.name)]);
  t.is(await host.fake.text(path.join(dir, 'memory.max')), String(64 * MiB));
  t.is(await host.fake.text(path.join(dir, 'memory.swap.max')), '0');
  t.is(await host.fake.text(path.join(dir, 'pids.max')), '32');
  t.is(await host.fake.text(path.join(dir, 'cpu.max')), '50000 100000');

  await cgroup.setCpu(0.001);
  t.is(await host.fake.text(path.join(dir, 'cpu.max')), '1000 100000', 'never below the kernel minimum quota');
  await cgroup.setMemory(32 * MiB);
  t.is(await host.fake.text(path.join(dir, 'memory.max')), String(32 * MiB));
});

test(`create leaves nothing behind when a limit cannot be written ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const driver = await driverOn(host);
  // A tree whose parent stopped offering pids: the sandbox cgroup gets no pids.max.
  await host.fake.set(path.join(host.own, 'sandgate', 'cgroup.subtree_control'), 'memory cpu');
  const error = await t.throwsAsync(driver.create(newSandboxCgroupName(OWNER), LIMITS));
  t.true(isSandgateError(error, 'SG_CGROUP'));
  t.deepEqual(await driver.listChildren(), []);
});

test(`readUsage reads cpu.stat usage_usec, memory.current, memory.peak, memory.events oom_kill and pids.current ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const cgroup = await (await driverOn(host)).create(newSandboxCgroupName(OWNER), LIMITS);
  const [dir] = cgroup.dirs;
  if (dir === undefined) throw new Error('no directory');
  await host.fake.set(path.join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\n');
  await host.fake.set(path.join(dir, 'memory.current'), '4096\n');
  await host.fake.set(path.join(dir, 'memory.peak'), '8192\n');
  await host.fake.set(path.join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n');
  await host.fake.set(path.join(dir, 'pids.current'), '3\n');

  t.deepEqual(await cgroup.readUsage(), { cpuUsageNs: 1_500_000, memoryCurrentBytes: 4096, memoryPeakBytes: 8192, oomKills: 2, pidsCurrent: 3 });

  await fs.rm(path.join(dir, 'memory.peak'));
  t.is((await cgroup.readUsage()).memoryPeakBytes, 4096, 'before Linux 5.19: the current usage');
});

test(`freeze waits for cgroup.events frozen 1; thaw writes cgroup.freeze 0 ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const cgroup = await (await driverOn(host)).create(newSandboxCgroupName(OWNER), LIMITS);
  const [dir] = cgroup.dirs;
  if (dir === undefined) throw new Error('no directory');
  await cgroup.freeze();
  t.regex(await host.fake.text(path.join(dir, 'cgroup.events')), /^frozen 1$/m);
  await cgroup.thaw();
  t.is(await host.fake.text(path.join(dir, 'cgroup.freeze')), '0');
});

test(`killAll writes cgroup.kill and waits for an empty cgroup; remove is idempotent and keeps the tree ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const driver = await driverOn(host);
  const cgroup = await driver.create(newSandboxCgroupName(OWNER), LIMITS);
  const [dir] = cgroup.dirs;
  if (dir === undefined) throw new Error('no directory');
  await host.fake.set(path.join(dir, 'cgroup.procs'), '999999\n');

  await cgroup.killAll();
  t.true(host.fake.writes.some((write) => write.path === path.join(dir, 'cgroup.kill') && write.value === '1'));
  await cgroup.remove();
  await cgroup.remove();
  t.false(await host.fake.exists(dir));
  t.true(await host.fake.exists(driver.treeDirs[0] ?? ''));
});

test(`remove fails with SG_CGROUP, naming the pids, when tasks stay past the bound ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const driver = await openCgroupDriver({ layout: host.layout, fs: host.fake, removeTimeoutMs: 20 });
  const cgroup = await driver.create(newSandboxCgroupName(OWNER), LIMITS);
  const [dir] = cgroup.dirs;
  if (dir === undefined) throw new Error('no directory');
  await host.fake.set(path.join(dir, 'cgroup.procs'), '999999\n');
  const error = await t.throwsAsync(cgroup.remove());
  t.true(isSandgateError(error, 'SG_CGROUP'));
  t.deepEqual(isSandgateError(error) ? error.details['pids'] : undefined, [999999]);
  await host.fake.set(path.join(dir, 'cgroup.procs'), '');
  await cgroup.remove();
});

test(`the reaper removes a dead owner's sandbox cgroup and spares the rest ${FAKE}`, async (t) => {
  const host = await fakeHost(t);
  const driver = await driverOn(host);
  const stale = await driver.create(newSandboxCgroupName({ pid: 123, startTicks: '1' }), LIMITS);
  const live = await driver.create(newSandboxCgroupName(OWNER), LIMITS);
  await host.fake.mkdir(path.join(host.own, 'sandgate', 'operator-made'));
  const outcome = await reapStaleSandboxCgroups(driver, { isOwnerAlive: async (owner) => owner.startTicks === OWNER.startTicks });
  t.deepEqual(outcome, { removed: [stale.name], spared: [live.name], foreign: ['operator-made'], failed: [] });
});
