/**
 * SECURITY.md class E — resources: every bomb stops at its limit inside the sandbox and the
 * host (this test process, other sandboxes) is unaffected. Serial: the bombs load the machine
 * and the CPU test measures it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import test from 'ava';

import { hostSpawnMs } from './helpers/host-processes.js';
import { SG_PROBE } from './helpers/probe-binaries.js';
import { assertHeld, describeRun, numberWhere, parseProbeLine } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test, { extras: ['sg-host-aio'] });
const execFileAsync = promisify(execFile);

const MiB = 1024 * 1024;
/** Bound on spawning /bin/true on the host while a bomb holds, ms: generous for a 2-vCPU VM. */
const HOST_SPAWN_BOUND_MS = 5_000;
/** Exit status of a command killed by SIGKILL (128 + 9): the OOM killer's and the time limit's. */
const KILLED_STATUS = 137;

test.serial('a fork bomb stops below --pids with EAGAIN, and the host spawns processes meanwhile', async (t) => {
  const pids = 32;
  const bomb = suite.startProbe('fork-bomb', [String(pids)], { pids });
  const holding = await bomb.waitForStdout(/^BOMB fork-bomb count=(\d+) errno=(\S+)$/m, 30_000);
  const hostMs = await hostSpawnMs(); // while every one of the bomb's tasks is alive
  bomb.endStdin();
  const run = await bomb.result;
  assertHeld(t, run, 'fork-bomb', { errno: 'EAGAIN', forked: numberWhere(`between ${pids / 2} and ${pids - 2}`, (n) => n >= pids / 2 && n <= pids - 2) });
  t.is(holding[2], 'EAGAIN');
  t.true(hostMs < HOST_SPAWN_BOUND_MS, `the host took ${hostMs.toFixed(0)} ms to spawn /bin/true during the bomb`);
});

test.serial('a thread bomb stops below --pids with EAGAIN (threads are tasks too)', async (t) => {
  const pids = 32;
  const run = await suite.probe('thread-bomb', [String(pids)], { pids });
  assertHeld(t, run, 'thread-bomb', { errno: 'EAGAIN', threads: numberWhere(`between ${pids / 2} and ${pids - 2}`, (n) => n >= pids / 2 && n <= pids - 2) });
});

test.serial('a memory bomb is OOM-killed and reported as "oom"; a concurrent sandbox is unaffected', async (t) => {
  const bystander = suite.start(['/bin/sh', '-c', 'read line; echo "alive $line"']);
  const run = await suite.probe('mem-bomb', ['1024'], { memory: '64M' });
  t.is(parseProbeLine(run.stdout, 'mem-bomb'), undefined, `the bomb must die before it can report: ${describeRun(run)}`);
  t.is(run.report?.reason, 'oom', describeRun(run));
  t.is(run.exitCode, KILLED_STATUS, describeRun(run));
  t.true((run.report?.peakMemoryBytes ?? Infinity) <= 64 * MiB, describeRun(run));
  bystander.write('after\n');
  bystander.endStdin();
  const other = await bystander.result;
  t.is(other.exitCode, 0, describeRun(other));
  t.is(other.stdout, 'alive after\n');
});

for (const [dir, sizeMb] of [['/tmp', 64], ['/home/user', 64], ['/dev/shm', 16]] as const) {
  test.serial(`filling ${dir} stops at its ${sizeMb} MiB size with ENOSPC`, async (t) => {
    const run = await suite.probe('fill', [dir, '1024']);
    assertHeld(t, run, 'fill', { errno: 'ENOSPC', written_mb: numberWhere(`between ${sizeMb - 2} and ${sizeMb}`, (n) => n >= sizeMb - 2 && n <= sizeMb) });
  });
}

test.serial('tmpfs pages count against the memory limit: full tmpfs plus a memory bomb ends in "oom"', async (t) => {
  const script = ['/tmp', '/home/user', '/dev/shm'].map((dir) => `${SG_PROBE} fill ${dir} 1024;`).join(' ') + ` exec ${SG_PROBE} mem-bomb 1024`;
  const run = await suite.run(['/bin/sh', '-c', script], { memory: '48M' });
  for (const line of run.stdout.trim().split('\n').slice(0, 3)) t.regex(line, /^HELD fill written_mb=\d+ errno=ENOSPC$/, describeRun(run));
  t.is(run.report?.reason, 'oom', describeRun(run));
  t.is(run.exitCode, KILLED_STATUS, describeRun(run));
});

for (const kind of ['socket', 'pipe'] as const) {
  test.serial(`${kind} buffers nobody reads are charged to the memory limit: the bomb ends in "oom"`, async (t) => {
    const run = await suite.probe('kmem-bomb', [kind, '512'], { memory: '32M' });
    t.is(parseProbeLine(run.stdout, 'kmem-bomb'), undefined, `the bomb must die before it can report: ${describeRun(run)}`);
    t.is(run.report?.reason, 'oom', describeRun(run));
    t.is(run.exitCode, KILLED_STATUS, describeRun(run));
  });
}

test.serial('the host-wide AIO pool (fs.aio-max-nr) cannot be taken: io_setup is refused, the host keeps AIO', async (t) => {
  const holder = suite.startProbe('aio-exhaust');
  const holding = await holder.waitForStdout(/^HOLDING aio-exhaust contexts=(\d+) errno=(\S+)$/m, 20_000);
  const host = await execFileAsync(suite.binaries.hostAio, []); // while the sandbox holds what it got
  holder.endStdin();
  const run = await holder.result;
  t.is(host.stdout.trim(), 'AIO OK', `host io_setup while the sandbox held ${holding[1]} contexts of 4096 events`);
  assertHeld(t, run, 'aio-exhaust', { io_setup: ['EPERM', 'ENOSYS'], contexts: '0' });
});

test.serial('an inode fill ends in ENOSPC or the OOM killer, never unbounded', async (t) => {
  const max = 2_000_000;
  const run = await suite.probe('inode-fill', ['/tmp', String(max)], { memory: '32M' });
  const line = parseProbeLine(run.stdout, 'inode-fill');
  if (line === undefined) {
    t.is(run.report?.reason, 'oom', describeRun(run));
  } else {
    assertHeld(t, run, 'inode-fill', { errno: ['ENOSPC', 'ENOMEM'], created: numberWhere(`< ${max}`, (n) => n < max) });
  }
});

test.serial('RLIMIT_FSIZE holds: a write at 64 MiB fails with EFBIG and the limit cannot be raised', async (t) => {
  const run = await suite.probe('fsize');
  assertHeld(t, run, 'fsize', { limit: String(64 * MiB), below: 'OK', at_limit: 'EFBIG', raise: 'EPERM' });
});

test.serial('fd exhaustion stops with EMFILE at RLIMIT_NOFILE (1024), which cannot be raised', async (t) => {
  const run = await suite.probe('fd-exhaust');
  assertHeld(t, run, 'fd-exhaust', { soft: '1024', hard: '1024', opened: '1021', errno: 'EMFILE', raise_hard: 'EPERM' });
});

test.serial('a CPU burn on two threads with --cpu 0.2 gets about 0.2 cores', async (t) => {
  const run = await suite.probe('cpu-burn', ['3000', '2'], { cpu: 0.2 });
  const line = assertHeld(t, run, 'cpu-burn', {});
  const cpuMs = run.report?.cpuMs ?? NaN;
  const wallMs = run.report?.wallMs ?? NaN;
  const cores = cpuMs / wallMs;
  t.true(cores <= 0.3, `cgroup: ${cpuMs} ms CPU in ${wallMs} ms = ${cores.toFixed(3)} cores; ${line.text}`);
  t.true(cores >= 0.1, `positive control: the burn did run (${cores.toFixed(3)} cores)`);
  t.true(Number(line.fields.get('cores')) <= 0.3, line.text);
});
