/**
 * SECURITY.md class B — kernel API and privilege. The default seccomp profile answers EPERM to
 * what it refuses, ENOSYS to clone3, and kills the process (SIGSYS) for a foreign ABI
 * (native/common/seccomp-default-profile.h); the tests pin those answers.
 */
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { REPO_ROOT } from './helpers/probe-binaries.js';
import { allOf, assertHeld, describeRun, parseProbeLine } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test);

/** 31 on x86-64 (signal(7)). */
const SIGSYS = osConstants.signals.SIGSYS;
/** Where sandgate-init lives on the host (launcher-contract.md, build outputs). */
const HOST_INIT_PATH = path.join(REPO_ROOT, 'build', 'Release', 'sandgate-init');

const NS_FLAGS = ['NEWUSER', 'NEWNS', 'NEWPID', 'NEWNET', 'NEWUTS', 'NEWIPC', 'NEWCGROUP', 'NEWUSER|NEWNS'];
/** The namespaces the launcher creates (launcher-contract.md). The time namespace is the
 * host's: its offsets can only be set before a process enters it, with CAP_SYS_TIME. */
const PRIVATE_NAMESPACES = ['user', 'pid', 'mnt', 'net', 'uts', 'ipc', 'cgroup'];

/** Simple "every attempt is refused with EPERM" probes: name → the keys they print. */
const EPERM_PROBES: Readonly<Record<string, readonly string[]>> = {
  keyctl: ['add_key', 'request_key', 'join_session', 'get_user_keyring'],
  bpf: ['map_create', 'prog_load'],
  'perf-event': ['sw_self', 'hw_self', 'hw_cpu0'],
  'io-uring': ['setup', 'enter', 'register'],
  ptrace: ['attach1', 'seize1'],
  'process-vm': ['readv1', 'writev1'],
  kexec: ['kexec_load', 'kexec_file_load'],
  modules: ['init_module', 'finit_module', 'delete_module'],
  'open-by-handle': ['forged_root_inode'],
  reboot: ['cad_off'],
  swapon: ['swapon', 'swapoff'],
  clock: ['clock_settime', 'settimeofday', 'adjtimex', 'clock_adjtime'],
  personality: ['READ_IMPLIES_EXEC', 'ADDR_NO_RANDOMIZE', 'READ_IMPLIES_EXEC_hi32'],
  syslog: ['read_all', 'size_buffer', 'console_off'],
  iopl: ['iopl3', 'ioperm'],
  chroot: ['tmp', 'root'],
  'pivot-root': ['tmp', 'dot'],
};

test('no capability in any set (status and capget); uids and gids are the sandbox user', async (t) => {
  const run = await suite.probe('caps');
  assertHeld(t, run, 'caps', {
    ...allOf(['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'capget', 'bounding_caps', 'ambient_caps'], '0'),
    uids: '1000:1000:1000',
    gids: '1000:1000:1000',
  });
});

test('no_new_privs is set for good and a seccomp filter is active (mode 2)', async (t) => {
  const run = await suite.probe('nnp-seccomp');
  assertHeld(t, run, 'nnp-seccomp', { NoNewPrivs: '1', Seccomp: '2', Seccomp_filters: /^[1-9]\d*$/, clear_nnp: 'EINVAL', nnp_after: '1' });
});

test('uid_map is one line "1000 <hostuid> 1" with the report\'s unprivileged host uid; setgroups is denied', async (t) => {
  const run = await suite.probe('uid-map');
  const line = assertHeld(t, run, 'uid-map', { uid_map: /^1000:\d+:1$/, gid_map: /^1000:\d+:1$/, setgroups: 'deny' });
  const hostUid = Number(line.fields.get('uid_map')?.split(':')[1]);
  t.is(run.report?.hostUid, hostUid, describeRun(run));
  t.not(hostUid, 0);
  t.not(hostUid, process.getuid?.() ?? 0);
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  t.false(passwd.split('\n').some((entry) => entry.split(':')[2] === String(hostUid)), `host uid ${hostUid} belongs to no host account`);
});

test('the sandbox user cannot become root or change its groups', async (t) => {
  const run = await suite.probe('setuid');
  // EINVAL: uid 0 has no mapping in the user namespace; EPERM: no CAP_SETUID/CAP_SETGID.
  assertHeld(t, run, 'setuid', {
    ...allOf(['setuid0', 'setresuid0', 'setgid0', 'setreuid_other'], ['EINVAL', 'EPERM']),
    setgroups: 'EPERM',
    uids_after: '1000:1000:1000',
  });
});

test('the sandbox has its own user, pid, mount, net, uts, ipc and cgroup namespaces', async (t) => {
  const run = await suite.probe('ns-ids');
  const line = assertHeld(t, run, 'ns-ids', {});
  for (const kind of PRIVATE_NAMESPACES) {
    const host = /\[(\d+)\]/.exec(fs.readlinkSync(`/proc/self/ns/${kind}`))?.[1];
    t.not(line.fields.get(kind), host, `${kind} namespace differs from the host's`);
    t.regex(line.fields.get(kind) ?? '', /^\d+$/);
  }
});

test('unshare(2) of every namespace flag is refused with EPERM', async (t) => {
  const run = await suite.probe('unshare');
  assertHeld(t, run, 'unshare', allOf([...NS_FLAGS, 'NEWTIME'], 'EPERM'));
});

test('`unshare -Ur` and `unshare -n` fail with "Operation not permitted"', async (t) => {
  for (const args of [['-Ur', 'true'], ['-n', 'true']]) {
    const run = await suite.run(['/usr/bin/unshare', ...args]);
    t.is(run.exitCode, 1, describeRun(run));
    t.regex(run.stderr, /Operation not permitted/, describeRun(run));
  }
});

test('clone(2) with any CLONE_NEW* flag is refused with EPERM, also with junk in the upper 32 bits', async (t) => {
  const run = await suite.probe('clone-ns');
  assertHeld(t, run, 'clone-ns', allOf([...NS_FLAGS, 'NEWUSER_hi32'], 'EPERM'));
});

test('clone3(2) fails with ENOSYS, with or without CLONE_NEWUSER', async (t) => {
  const run = await suite.probe('clone3');
  assertHeld(t, run, 'clone3', { plain: 'ENOSYS', NEWUSER: 'ENOSYS' });
});

test('setns(2) into any namespace, by its own or another process\'s ns file or by pidfd, is refused with EPERM', async (t) => {
  const run = await suite.probe('setns');
  // The ns files are opened first (an open failure would read open_EACCES): the EPERM is setns's.
  const keys = ['self', 'peer'].flatMap((owner) => [...PRIVATE_NAMESPACES, 'time'].map((kind) => `${owner}:${kind}`));
  assertHeld(t, run, 'setns', { ...allOf(keys, 'EPERM'), pidfd1: 'EPERM', pidfd_peer: 'EPERM' });
});

for (const [probe, keys] of Object.entries(EPERM_PROBES)) {
  test(`${probe}: refused with EPERM`, async (t) => {
    const run = await suite.probe(probe);
    assertHeld(t, run, probe, allOf(keys, 'EPERM'));
  });
}

test('userfaultfd is refused with EPERM (also UFFD_USER_MODE_ONLY); /dev/userfaultfd is absent', async (t) => {
  const run = await suite.probe('userfaultfd');
  assertHeld(t, run, 'userfaultfd', { user_mode_only: 'EPERM', all_modes: 'EPERM', dev_userfaultfd: 'ENOENT' });
});

test('hostname, accounting, vhangup, SCHED_FIFO, negative nice, NUMA moves, RT I/O priority and mlock are refused', async (t) => {
  const run = await suite.probe('misc-privileged');
  assertHeld(t, run, 'misc-privileged', {
    ...allOf(['sethostname', 'setdomainname', 'acct', 'vhangup', 'move_pages1', 'migrate_pages1'], 'EPERM'),
    sched_fifo: 'EPERM', // allowed syscall; RLIMIT_RTPRIO is 0
    nice_minus: 'EACCES', // allowed syscall; RLIMIT_NICE is 0 (setpriority(2))
    ioprio_rt: 'EPERM', // allowed syscall; IOPRIO_CLASS_RT needs CAP_SYS_ADMIN
    mlock_1mb: 'ENOMEM', // allowed syscall; RLIMIT_MEMLOCK is 64 KiB (mlock(2))
  });
});

test('/proc/1/mem of sandgate-init cannot be opened, for writing or reading (the ptrace-equivalent door)', async (t) => {
  const run = await suite.probe('proc1-mem');
  // EACCES: init is not dumpable, so PTRACE_MODE_ATTACH fails (proc(5), ptrace(2)). The same
  // check closes /proc/1/exe, which showed the host path of sandgate-init when init was dumpable.
  const line = assertHeld(t, run, 'proc1-mem', { open_rdwr: ['EACCES', 'EPERM'], open_rdonly: ['EACCES', 'EPERM'], exe: 'EACCES' });
  const exe = line.fields.get('exe') ?? '';
  t.false(exe.includes(HOST_INIT_PATH) || exe.startsWith(REPO_ROOT), `/proc/1/exe reveals a host path: ${exe}`);
});

test('i386 syscalls through int $0x80 kill the process with SIGSYS', async (t) => {
  const run = await suite.probe('int80');
  assertHeld(t, run, 'int80', { getpid: 'SIGSYS', unshare_newuser: 'SIGSYS' });
});

test('x32 syscalls (nr | 0x40000000) kill the process with SIGSYS', async (t) => {
  const run = await suite.probe('x32');
  assertHeld(t, run, 'x32', { getpid: 'SIGSYS', unshare_newuser: 'SIGSYS' });
});

test('AF_ALG, AF_VSOCK, AF_PACKET, raw IP and rare socket families are refused with EPERM', async (t) => {
  const run = await suite.probe('sockets');
  const line = assertHeld(t, run, 'sockets', { AF_INET_STREAM: 'OK', AF_UNIX: 'OK' });
  const refused = [...line.fields.entries()].filter(([key]) => key !== 'AF_INET_STREAM' && key !== 'AF_UNIX');
  t.true(refused.length >= 20, `probed ${refused.length} families`);
  t.deepEqual(refused.filter(([, value]) => value !== 'EPERM'), [], line.text);
});

test('an i386 syscall in the command itself kills it with SIGSYS: reason "signal", status 128 + 31', async (t) => {
  const run = await suite.probe('int80', ['direct']);
  t.is(parseProbeLine(run.stdout, 'int80'), undefined, `the probe must not survive to print: ${describeRun(run)}`);
  // A command killed by a signal has no exit code; the report names the signal and the CLI
  // exits with 128 + its number, as a shell would (`sandgate run --help`, launcher contract).
  t.is(run.report?.reason, 'signal', describeRun(run));
  t.is(run.report?.signal, 'SIGSYS', describeRun(run));
  t.is(run.report?.exitCode, null, describeRun(run));
  t.is(run.report?.status, 128 + SIGSYS, describeRun(run));
  t.is(run.exitCode, 128 + SIGSYS, describeRun(run));
});
