/**
 * The SandboxRunner API the gateway builds on (the CLI tests drive it through `sandgate run`):
 * piped and PTY sandboxes, bytes in and out, resize, and one dispose() that kills and
 * releases everything — also a sandbox whose cgroup the monitor froze.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { openCgroupDriver } from '../../server/sandbox/cgroup/cgroup-driver.js';
import { newSandboxCgroupName, readProcessIdentity } from '../../server/sandbox/cgroup/cgroup-layout.js';
import type { PtySandbox } from '../../server/sandbox/pty-sandbox.js';
import { SandboxRunner } from '../../server/sandbox/sandbox-runner.js';
import type { SandboxSpec } from '../../server/sandbox/sandbox-spec.js';
import { parseSandboxSpec } from '../../server/sandbox/spec-validation.js';
import { within } from './support/wait-until.js';

const TIMEOUT_MS = 20_000;

interface Bench {
  readonly runner: SandboxRunner;
  readonly reportDir: string;
}

/** A runner with a private cgroup tree and report directory, both removed after the test. */
async function bench(t: ExecutionContext): Promise<Bench> {
  const reportDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sgtest-reports-'));
  const cgroupDriver = await openCgroupDriver({ treeName: `sandgate-test-${randomBytes(4).toString('hex')}` });
  t.teardown(async () => {
    for (const tree of cgroupDriver.treeDirs) await fs.rmdir(tree).catch(() => undefined); // gone with its last sandbox
    await fs.rm(reportDir, { recursive: true, force: true });
  });
  return { runner: await SandboxRunner.open({ cgroupDriver, reportDir }), reportDir };
}

function spec(argv: string[]): SandboxSpec {
  return parseSandboxSpec({ argv, env: { PS1: 'sg$ ' } });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

/** Everything a PTY sandbox printed, and a bounded wait for a pattern in it. */
function transcript(sandbox: PtySandbox): { text: () => string; waitFor: (pattern: RegExp) => Promise<void> } {
  const chunks: Buffer[] = [];
  const waiters = new Set<() => void>();
  sandbox.onData((data) => {
    chunks.push(data);
    for (const waiter of waiters) waiter();
  });
  const text = (): string => Buffer.concat(chunks).toString('utf8');
  const waitFor = (pattern: RegExp): Promise<void> => {
    let check: (() => void) | undefined;
    const matched = new Promise<void>((resolve) => {
      check = () => {
        if (pattern.test(text())) resolve();
      };
      waiters.add(check);
      check();
    });
    return within(() => `${pattern} in ${JSON.stringify(text())}`, TIMEOUT_MS, matched).finally(() => {
      if (check !== undefined) waiters.delete(check);
    });
  };
  return { text, waitFor };
}

test('a piped sandbox passes bytes through; its cgroup and report are gone when the result settles', async (t) => {
  const { runner, reportDir } = await bench(t);
  const sandbox = await runner.spawnPiped(spec(['cat']), { stdio: 'pipe' });
  const dirs = sandbox.cgroup.dirs;
  for (const dir of dirs) t.true(await exists(dir), dir);
  const bytes = randomBytes(256 * 1024);
  const chunks: Buffer[] = [];
  sandbox.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const stdoutEnded = new Promise((resolve) => sandbox.stdout?.once('end', resolve));
  sandbox.stdin?.end(bytes);

  const result = await within('the piped sandbox to end', TIMEOUT_MS, sandbox.result);
  await within('stdout to end', TIMEOUT_MS, stdoutEnded);
  t.like(result, { status: 0, exitCode: 0, reason: 'exit' });
  t.true(Buffer.concat(chunks).equals(bytes));
  for (const dir of dirs) t.false(await exists(dir), dir);
  t.deepEqual(await fs.readdir(reportDir), []);
});

test('a PTY sandbox takes input, reports its size, and dispose() kills and releases it once', async (t) => {
  const { runner, reportDir } = await bench(t);
  const sandbox = await runner.spawnPty(spec(['/bin/bash', '--norc', '-i']), { cols: 90, rows: 20 });
  const terminal = transcript(sandbox);
  await terminal.waitFor(/sg\$ $/);
  sandbox.write(Buffer.from('stty size\r'));
  await terminal.waitFor(/[\r\n]20 90\r\n/);
  sandbox.resize(132, 43);
  sandbox.write('stty size\r');
  await terminal.waitFor(/[\r\n]43 132\r\n/);

  const dirs = sandbox.cgroup.dirs;
  const [first, second] = await within('dispose', TIMEOUT_MS, Promise.all([sandbox.dispose(), sandbox.dispose()]));
  t.is(first, second, 'one result for every dispose()');
  t.like(first, { reason: 'killed', status: 137 });
  t.false(sandbox.isRunning);
  for (const dir of dirs) t.false(await exists(dir), dir);
  t.deepEqual(await fs.readdir(reportDir), []);
  t.is(await sandbox.dispose(), first);
});

test('reapStale removes launcher reports of dead owners, also without their cgroup, and keeps live owners\' and foreign files', async (t) => {
  const { runner, reportDir } = await bench(t);
  // A dead owner: a child that has exited (its pid and start time no longer name a process).
  const child = spawn('/bin/true');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const childPid = child.pid ?? 0;
  const dead = await readProcessIdentity(childPid).catch(() => undefined);
  await exited;
  const deadOwner = dead ?? { pid: childPid, startTicks: '1' };
  const live = await readProcessIdentity(process.pid);
  if (live === undefined) return t.fail('cannot read this process\'s identity');
  const stale = `sandgate-report-${newSandboxCgroupName(deadOwner)}.json`;
  const kept = `sandgate-report-${newSandboxCgroupName(live)}.json`;
  const foreign = ['sandgate-report-other.json', 'notes.txt'];
  for (const file of [stale, kept, ...foreign]) await fs.writeFile(path.join(reportDir, file), '{}');
  const outcome = await runner.reapStale();
  t.deepEqual(outcome.reports, [stale]);
  t.deepEqual((await fs.readdir(reportDir)).sort(), [kept, ...foreign].sort());
});

/** The targets of a process's open fds that are PTY masters (/dev/ptmx). */
async function ptyMastersHeldBy(pid: number): Promise<string[]> {
  const dir = `/proc/${pid}/fd`;
  const held: string[] = [];
  for (const fd of await fs.readdir(dir).catch(() => [])) {
    const target = await fs.readlink(path.join(dir, fd)).catch(() => '');
    if (target === '/dev/ptmx' || target.startsWith('/dev/pts/ptmx')) held.push(`${fd} -> ${target}`);
  }
  return held;
}

test('a PTY master is close-on-exec: a later sandbox\'s launcher does not hold an earlier session\'s terminal', async (t) => {
  const { runner } = await bench(t);
  const first = await runner.spawnPty(spec(['/bin/bash', '--norc', '-i']));
  t.teardown(() => first.dispose());
  await transcript(first).waitFor(/sg\$ $/);
  const second = await runner.spawnPty(spec(['/bin/bash', '--norc', '-i']));
  t.teardown(() => second.dispose());
  await transcript(second).waitFor(/sg\$ $/);
  // The launcher of the second sandbox is alive (it supervises until the end): its open fds
  // are the ones it inherited, and no PTY master may be among them.
  t.deepEqual(await ptyMastersHeldBy(second.pid), []);
  t.deepEqual(await ptyMastersHeldBy(first.pid), []);
});

test('dispose() ends a sandbox whose cgroup is frozen (frozen tasks ignore SIGKILL until thawed)', async (t) => {
  const { runner } = await bench(t);
  const sandbox = await runner.spawnPty(spec(['/bin/bash', '--norc', '-i']));
  const terminal = transcript(sandbox);
  await terminal.waitFor(/sg\$ $/);
  await sandbox.cgroup.freeze();
  const result = await within('dispose of a frozen sandbox', TIMEOUT_MS, sandbox.dispose());
  t.is(result.reason, 'killed');
  t.is(result.cleanupError, undefined);
  for (const dir of sandbox.cgroup.dirs) t.false(await exists(dir), dir);
});
