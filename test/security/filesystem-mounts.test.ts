/**
 * SECURITY.md class A — filesystem and mounts. Every test attacks a real sandbox through
 * `sandgate run` and asserts the specific way it held (docs/security-tests.md lists them).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import test from 'ava';

import { processesWithMarker, spawnDecoy } from './helpers/host-processes.js';
import { PROBE_DIR_INSIDE } from './helpers/probe-binaries.js';
import { allOf, assertHeld, describeRun, numberWhere } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test, { extras: ['sg-privs'] });
const execFileAsync = promisify(execFile);
const reversed = (text: string): string => [...text].reverse().join('');

/** The sandbox's own top level and /etc (docs/sandbox.md, "Inside the sandbox"). */
const ALLOWED_ROOT = new Set(['bin', 'dev', 'etc', 'home', 'lib', 'lib32', 'lib64', 'libx32', 'opt', 'proc', 'sbin', 'tmp', 'usr']);
const ALLOWED_ETC = new Set([
  'passwd', 'group', 'hosts', 'hostname', 'nsswitch.conf', 'alternatives', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d',
  'bash.bashrc', 'profile', 'profile.d', 'inputrc', 'terminfo', 'localtime', 'services', 'protocols', 'os-release', 'ssl',
]);

function subsetOf(allowed: ReadonlySet<string>) {
  return { what: `a subset of ${[...allowed].join(',')}`, test: (value: string) => value.split(',').every((name) => allowed.has(name)) };
}

test('host files are unreachable from the root and through every /proc/<pid>/root and /cwd', async (t) => {
  const marker = suite.marker('hostfile');
  const hostFiles = [path.join(os.tmpdir(), marker), path.join('/var/tmp', marker)];
  for (const file of hostFiles) {
    fs.writeFileSync(file, 'host secret\n', { mode: 0o644 });
    suite.onCleanup(() => fs.rmSync(file, { force: true }));
  }
  const run = await suite.probe('host-fs', hostFiles);
  assertHeld(t, run, 'host-fs', {
    path0: 'ENOENT',
    path1: 'ENOENT',
    foreign_roots: '0',
    reached: '0',
    pids: numberWhere('≤ 3', (n) => n <= 3),
    // The probe's own root was compared (positive control); init's is closed, not skipped silently.
    own_roots: numberWhere('≥ 1', (n) => n >= 1),
    root_closed: '1:EACCES',
  });
});

test('/proc/<pid>/root of another sandboxed process is the sandbox\'s own root; init\'s is closed', async (t) => {
  // `cat` (a child) reads through its parent shell's /proc/$$/root: another process of the
  // sandbox user, dumpable, so the kernel lets it in (proc(5): PTRACE_MODE_READ) and what it
  // shows is that process's root. sandgate-init is not dumpable: its root is EACCES.
  const script = [
    'cat /proc/$$/root/etc/hostname',
    'cat /proc/1/root/etc/hostname',
    'for p in /proc/[0-9]*; do echo "${p#/proc/} root=$(readlink $p/root) cwd=$(readlink $p/cwd)"; done',
  ].join('; ');
  const run = await suite.run(['/bin/sh', '-c', script]);
  t.is(run.exitCode, 0, describeRun(run));
  const [hostname, ...links] = run.stdout.trim().split('\n');
  t.is(hostname, 'sandbox', describeRun(run));
  t.not(hostname, os.hostname());
  t.regex(run.stderr, /^cat: \/proc\/1\/root\/etc\/hostname: Permission denied$/m, describeRun(run));
  // Every process there is (init and the shell): init's links are closed, the shell's inside.
  t.deepEqual(links, ['1 root= cwd=', '2 root=/ cwd=/home/user'], describeRun(run));
});

test('host processes are invisible in /proc; every visible process is the sandbox user', async (t) => {
  const marker = suite.marker('decoy');
  const decoy = spawnDecoy(marker);
  suite.onCleanup(() => void decoy.kill('SIGKILL'));
  t.deepEqual(processesWithMarker(marker), [decoy.pid], 'positive control: the host sees its decoy');
  const run = await suite.probe('proc-scan', [reversed(marker)]);
  assertHeld(t, run, 'proc-scan', { other_users: '0', pids: numberWhere('≤ 3 (init, the probe)', (n) => n <= 3), max_pid: numberWhere('≤ 3', (n) => n <= 3) });
});

test('the minimal root holds no host secrets: /, /etc and /home are the documented sets', async (t) => {
  const run = await suite.probe('etc-files');
  assertHeld(t, run, 'etc-files', { secrets_present: '0', root: subsetOf(ALLOWED_ROOT), etc: subsetOf(ALLOWED_ETC), home: 'user' });
});

test('writes to the read-only root, system binds, /etc and ro binds fail with EROFS', async (t) => {
  const run = await suite.probe('rootfs-write');
  assertHeld(t, run, 'rootfs-write', {
    ...allOf(['create:/sg-probe-x', 'create:/usr/sg-probe-x', 'create:/usr/bin/sg-probe-x', 'create:/etc/sg-probe-x', 'create:/lib/sg-probe-x'], 'EROFS'),
    ...allOf([`create:${PROBE_DIR_INSIDE}/sg-probe-x`, 'create:/dev/sg-probe-x', 'append:/etc/passwd', 'mkdir:/sg-probe-d', 'symlink:/sg-probe-l'], 'EROFS'),
    ...allOf(['chmod:/etc/hostname', 'unlink:/etc/hostname', 'rename:/etc/hosts', 'utimens:/usr/bin/true'], 'EROFS'),
    // procfs has no create operation; /usr/bin/true is host root's (unmapped: "nobody") 0755.
    'create:/proc/sg-probe-x': ['ENOENT', 'EACCES'],
    'write:/usr/bin/true': ['EACCES', 'EROFS'],
  });
});

test('`touch /usr/x` fails with "Read-only file system"', async (t) => {
  const run = await suite.run(['/bin/sh', '-c', 'touch /usr/sg-x']);
  t.is(run.exitCode, 1, describeRun(run));
  t.regex(run.stderr, /Read-only file system/);
});

test('mount(2) of tmpfs, proc, sysfs, cgroup, cgroup2, devpts and binds is refused with EPERM', async (t) => {
  const run = await suite.probe('mount');
  assertHeld(t, run, 'mount', allOf(['tmpfs', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'bind_root', 'make_shared'], 'EPERM'));
});

test('`mount -t tmpfs x /tmp` fails and adds no mount', async (t) => {
  const run = await suite.run(['/bin/sh', '-c', 'mount -t tmpfs sgx /tmp; echo "rc=$?"; grep -c " sgx " /proc/self/mountinfo']);
  const [rc, mounts] = run.stdout.trim().split('\n');
  t.not(rc, 'rc=0', describeRun(run));
  t.is(mounts, '0', describeRun(run));
});

test('read-only mounts cannot be remounted writable and stay read-only', async (t) => {
  const paths = ['/', '/usr', '/etc', '/proc/sys', PROBE_DIR_INSIDE];
  const run = await suite.probe('remount-rw', paths);
  assertHeld(t, run, 'remount-rw', {
    ...allOf(paths.map((p) => `remount:${p}`), 'EPERM'),
    ...allOf(paths.map((p) => `remount_fs:${p}`), 'EPERM'),
    ...allOf(paths.map((p) => `rdonly:${p}`), 'yes'),
  });
});

test('masks and mounts cannot be unmounted (EPERM); /proc/kcore stays masked', async (t) => {
  const run = await suite.probe('umount');
  assertHeld(t, run, 'umount', { ...allOf(['/proc/kcore', '/proc/sys', '/proc/sysrq-trigger', '/proc', '/dev/pts', '/usr', '/'], 'EPERM'), kcore_after: 'masked' });
});

test('the new mount API (fsopen, fspick, open_tree, move_mount, mount_setattr) is refused with EPERM', async (t) => {
  const run = await suite.probe('new-mount-api');
  assertHeld(t, run, 'new-mount-api', allOf(['fsopen', 'fspick', 'open_tree_clone', 'move_mount', 'mount_setattr'], 'EPERM'));
});

test('cgroup release_agent is unreachable: no cgroup mount, mounting one is EPERM, the cgroup view is rooted', async (t) => {
  const run = await suite.probe('cgroup-release-agent');
  assertHeld(t, run, 'cgroup-release-agent', {
    cgroup_mounts: '0',
    ...allOf(['/sys/fs/cgroup/release_agent', '/sys/fs/cgroup/memory/release_agent', '/sys/fs/cgroup/rdma/release_agent'], 'ENOENT'),
    mount_rdma: 'EPERM',
    mount_none: 'EPERM',
    cgroup_paths_not_root: '0',
  });
});

test('/sys is not mounted: its control files do not exist', async (t) => {
  const run = await suite.probe('sys-readonly');
  assertHeld(t, run, 'sys-readonly', {
    sys: 'ENOENT',
    ...allOf(['/sys/kernel/uevent_helper', '/sys/power/state', '/sys/class/net/lo/mtu', '/sys/fs/cgroup/cgroup.procs', '/sys/bus/pci/rescan'], 'ENOENT'),
  });
});

test('/proc/sys, /proc/bus, /proc/fs, /proc/irq are read-only binds; no sysctl opens for writing', async (t) => {
  const run = await suite.probe('proc-sys-write');
  // EACCES: the file's owner is root of some namespace, checked before the mount; EROFS: the
  // read-only bind; ENOENT: not in this kernel. Any of them refuses; the mounts must be read-only.
  const refused = ['EROFS', 'EACCES', 'ENOENT'];
  assertHeld(t, run, 'proc-sys-write', {
    ...allOf(['/proc/sys/kernel/core_pattern', '/proc/sys/kernel/modprobe', '/proc/sys/kernel/hostname', '/proc/sys/vm/drop_caches'], refused),
    ...allOf(['/proc/sys/kernel/sysrq', '/proc/sys/fs/binfmt_misc/register', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/kernel/ns_last_pid'], refused),
    ...allOf(['/proc/sys/user/max_user_namespaces', '/proc/irq/default_smp_affinity'], refused),
    ...allOf(['mount:/proc/sys', 'mount:/proc/bus', 'mount:/proc/fs', 'mount:/proc/irq'], ['readonly', 'ENOENT']),
  });
});

test('`echo 1 > /proc/sys/kernel/...` is refused by the shell', async (t) => {
  const run = await suite.run(['/bin/sh', '-c', 'echo 1 > /proc/sys/vm/drop_caches']);
  t.not(run.exitCode, 0, describeRun(run));
  t.regex(run.stderr, /Permission denied|Read-only file system/);
});

test('/proc/sysrq-trigger cannot be opened for writing (absent, read-only, or masked by /dev/null)', async (t) => {
  const run = await suite.probe('sysrq-trigger');
  assertHeld(t, run, 'sysrq-trigger', { open_wronly: ['ENOENT', 'EROFS', 'EACCES', 'dev_null'], mount: ['ENOENT', 'readonly'] });
});

test('/proc/kcore, keys, key-users, timer_list, sched_debug, kmsg… read as empty (masked) or do not exist', async (t) => {
  const run = await suite.probe('proc-masked');
  const masked = ['empty', 'ENOENT'];
  assertHeld(t, run, 'proc-masked', {
    ...allOf(['/proc/kcore', '/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug'], masked),
    ...allOf(['/proc/latency_stats', '/proc/kmsg', '/proc/vmcore', '/proc/acpi', '/proc/scsi', '/proc/asound'], masked),
  });
});

test('`cat /proc/kcore /proc/keys /proc/timer_list` prints nothing', async (t) => {
  const run = await suite.run(['/bin/sh', '-c', 'cat /proc/kcore /proc/keys /proc/timer_list 2>/dev/null | wc -c']);
  t.is(run.stdout.trim(), '0', describeRun(run));
});

test('the host\'s boot_id is hidden: /proc/sys/kernel/random/boot_id reads empty (else two sessions could tell they share a host)', async (t) => {
  const host = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const run = await suite.run(['/bin/sh', '-c', 'cat /proc/sys/kernel/random/boot_id; echo "[$?]"']);
  t.is(run.exitCode, 0, describeRun(run));
  t.is(run.stdout, '[0]\n', describeRun(run));
  t.false(run.stdout.includes(host));
});

test('/proc/kallsyms shows no kernel address', async (t) => {
  const run = await suite.probe('kallsyms');
  assertHeld(t, run, 'kallsyms', { nonzero_addresses: '0' });
});

test('only fds 0, 1 and 2 are open, even when the CLI\'s caller leaks extra descriptors', async (t) => {
  const run = await suite.probe('fd-leak', [], { extraFds: 3 });
  assertHeld(t, run, 'fd-leak', { fds: '0,1,2', fcntl_open: '0' });
});

test('no device node can be created anywhere (EPERM; EROFS on /dev)', async (t) => {
  const run = await suite.probe('mknod');
  assertHeld(t, run, 'mknod', {
    ...allOf(['/tmp/sg-mem', '/tmp/sg-kmsg', '/tmp/sg-sda', '/home/user/sg-tun', '/dev/shm/sg-null'], 'EPERM'),
    '/dev/sg-fuse': 'EROFS',
    fifo: 'OK', // positive control: mknod(2) itself reaches the kernel
  });
});

test('/dev has no mem, kmsg, disks, net/tun, fuse, kvm, vsock…: only the documented nodes', async (t) => {
  const run = await suite.probe('dev-nodes');
  assertHeld(t, run, 'dev-nodes', { forbidden_present: '0', foreign_devices: '0', devices: numberWhere('≥ 5 (positive control)', (n) => n >= 5) });
});

test('setuid-root and file-capability binaries on a read-only bind gain no privilege', async (t) => {
  const suid = path.join(suite.binaries.dir, 'sg-privs-suid');
  const fcap = path.join(suite.binaries.dir, 'sg-privs-fcap');
  fs.copyFileSync(suite.binaries.privs, suid);
  fs.chownSync(suid, 0, 0);
  fs.chmodSync(suid, 0o4755);
  fs.copyFileSync(suite.binaries.privs, fcap);
  fs.chmodSync(fcap, 0o755);
  await execFileAsync('/usr/sbin/setcap', ['cap_sys_admin,cap_dac_override,cap_setuid+ep', fcap]);
  t.is(fs.statSync(suid).mode & 0o4000, 0o4000, 'positive control: the copy is setuid on the host');

  for (const binary of [suid, fcap]) {
    const run = await suite.run([`${PROBE_DIR_INSIDE}/${path.basename(binary)}`]);
    assertHeld(t, run, 'caps', {
      ...allOf(['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'capget', 'bounding_caps', 'ambient_caps'], '0'),
      uids: '1000:1000:1000',
    });
  }
});

test('no file capability or trusted.* xattr can be written, on tmpfs or on a writable bind', async (t) => {
  const shared = suite.workPath('shared-xattr');
  fs.mkdirSync(shared, { mode: 0o777 });
  fs.chmodSync(shared, 0o777);
  const dirs = ['/tmp', '/home/user', '/work'];
  const run = await suite.probe('xattr-privileged', dirs, { binds: [`${shared}:/work`] });
  assertHeld(t, run, 'xattr-privileged', {
    ...allOf(dirs.map((dir) => `fcap:${dir}`), 'EPERM'),
    ...allOf(dirs.map((dir) => `trusted:${dir}`), 'EPERM'),
    'user:/tmp': 'OK', // control: setxattr(2) itself reaches the kernel
  });
});

/** A directory writable by the sandbox's leased uid (like a project directory), bound at /work,
 * with the host file a planted symlink will aim at. */
function reportAttackSetup(name: string): { shared: string; report: string; victim: string } {
  const shared = suite.workPath(name);
  fs.mkdirSync(shared, { mode: 0o777 });
  fs.chmodSync(shared, 0o777);
  const victim = suite.workPath(`${name}-victim`);
  fs.writeFileSync(victim, 'root-owned original\n', { mode: 0o600 });
  return { shared, report: path.join(shared, 'report.json'), victim };
}

test('a symlink planted at the --json-report path in a writable bind does not redirect the CLI\'s write to a host file', async (t) => {
  const { shared, report, victim } = reportAttackSetup('shared-report');
  const run = await suite.run(['/bin/sh', '-c', 'rm -f /work/report.json && ln -s "$1" /work/report.json && echo planted', 'sh', victim], { binds: [`${shared}:/work`], jsonReport: report });
  t.is(run.stdout, 'planted\n', `positive control: the sandbox could write in the bind; ${describeRun(run)}`);
  t.is(fs.readlinkSync(report), victim, 'positive control: the symlink was in place when the CLI wrote its report');
  t.is(fs.readFileSync(victim, 'utf8'), 'root-owned original\n', 'the host file the symlink points at is untouched');
  // The CLI wrote through the descriptor it opened before the start (to the unlinked file): no error.
  t.is(run.exitCode, 0, describeRun(run));
});

test('the CLI writes its report through the file it opened before the start, not through the path', async (t) => {
  const { shared, report, victim } = reportAttackSetup('shared-report-moved');
  // rename(2) keeps the inode the CLI holds open, so its report can be found after the run.
  const run = await suite.run(['/bin/sh', '-c', 'mv /work/report.json /work/kept.json && ln -s "$1" /work/report.json && echo planted', 'sh', victim], { binds: [`${shared}:/work`], jsonReport: report });
  t.is(run.stdout, 'planted\n', describeRun(run));
  t.is(fs.readlinkSync(report), victim);
  t.is(fs.readFileSync(victim, 'utf8'), 'root-owned original\n', 'the host file the symlink points at is untouched');
  const kept: unknown = JSON.parse(fs.readFileSync(path.join(shared, 'kept.json'), 'utf8'));
  t.like(kept, { reason: 'exit', exitCode: 0, status: 0 }, 'the report went to the file opened before the start');
});

test('a symlink left at the --json-report path before the run is refused: nothing runs, the host file is untouched', async (t) => {
  const { shared, report, victim } = reportAttackSetup('shared-report-left');
  fs.symlinkSync(victim, report); // what a previous session could leave behind in a project directory
  const run = await suite.run(['/bin/sh', '-c', 'echo ran'], { binds: [`${shared}:/work`], jsonReport: report });
  t.is(run.stdout, '', `the command must not run: ${describeRun(run)}`);
  t.is(run.exitCode, 78, describeRun(run)); // SG_CONFIG_INVALID (docs/errors.md)
  t.regex(run.stderr, /--json-report .*\[SG_CONFIG_INVALID\]/, describeRun(run));
  t.is(fs.readFileSync(victim, 'utf8'), 'root-owned original\n', 'the host file the symlink points at is untouched');
});

test('a symlink planted in a writable bind cannot redirect a later bind: the command never runs', async (t) => {
  const outer = suite.workPath('outer');
  const inner = suite.workPath('inner');
  fs.mkdirSync(outer, { mode: 0o777 });
  fs.mkdirSync(inner);
  fs.writeFileSync(path.join(inner, 'marker'), 'inner\n');
  fs.symlinkSync('/etc', path.join(outer, 'data')); // what a previous session could leave behind
  const run = await suite.run(['/bin/sh', '-c', 'cat /etc/marker; echo ran'], { binds: [`${outer}:/home/user/w`], roBinds: [`${inner}:/home/user/w/data`] });
  t.false(run.stdout.includes('ran'), `the command ran with a redirected bind: ${describeRun(run)}`);
  t.not(run.exitCode, 0, describeRun(run));
});

test('that refusal is reported as the mounts step (exit 203, SG_LAUNCH_MOUNTS), as the launcher contract says', async (t) => {
  const outer = suite.workPath('outer2');
  const inner = suite.workPath('inner2');
  fs.mkdirSync(outer, { mode: 0o777 });
  fs.mkdirSync(inner);
  fs.symlinkSync('/etc', path.join(outer, 'data'));
  const run = await suite.run(['/bin/true'], { binds: [`${outer}:/home/user/w`], roBinds: [`${inner}:/home/user/w/data`] });
  t.is(run.exitCode, 203, describeRun(run));
  t.regex(run.stderr, /SG_LAUNCH_MOUNTS/, describeRun(run));
  t.like(run.report?.raw, { reason: 'launcher_error', exitCode: null, status: 203, error: { code: 'SG_LAUNCH_MOUNTS' } }, describeRun(run));
});
