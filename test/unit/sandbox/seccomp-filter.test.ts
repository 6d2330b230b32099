import test from 'ava';

import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  X32_SYSCALL_BIT,
  decodeSockFilter,
  evaluateSeccomp,
  type SeccompResult,
  type SockFilter,
} from '../../helpers/bpf-interpreter.js';
import { X86_64, type X86_64SyscallName } from '../../helpers/x86-64-syscalls.js';
import { nativeAddon } from '../../../server/sandbox/native-addon.js';

// The filter the launcher loads, run through a classic-BPF interpreter. Numbers come from the
// kernel's x86-64 table (test/helpers/x86-64-syscalls.ts), not from libseccomp.

const EPERM = 1;
const ENOSYS = 38;
const SIGCHLD = 17n;

const CLONE_NEW = {
  NEWNS: 0x00020000n, NEWCGROUP: 0x02000000n, NEWUTS: 0x04000000n, NEWIPC: 0x08000000n,
  NEWUSER: 0x10000000n, NEWPID: 0x20000000n, NEWNET: 0x40000000n,
} as const;
// What glibc's pthread_create passes (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|
// PARENT_SETTID|CHILD_CLEARTID).
const CLONE_THREAD_FLAGS = 0x003d0f00n;

const IOCTL_REFUSED = { TIOCSTI: 0x5412n, TIOCLINUX: 0x541cn, TIOCCONS: 0x541dn, TIOCSETD: 0x5423n } as const;
const AF = { UNIX: 1n, INET: 2n, INET6: 10n, KEY: 15n, NETLINK: 16n, PACKET: 17n, BLUETOOTH: 31n, ALG: 38n, VSOCK: 40n };

const ALLOW: SeccompResult = { action: 'allow', data: 0 };
const REFUSED: SeccompResult = { action: 'errno', data: EPERM };
const ABSENT: SeccompResult = { action: 'errno', data: ENOSYS };
const KILLED: SeccompResult = { action: 'kill_process', data: 0 };

let cachedProgram: SockFilter[] | undefined;
function program(): SockFilter[] {
  cachedProgram ??= decodeSockFilter(nativeAddon().seccompFilter('default', 'bpf'));
  return cachedProgram;
}

function call(name: X86_64SyscallName, ...args: bigint[]): SeccompResult {
  return evaluateSeccomp(program(), { nr: X86_64[name], args });
}

interface Case {
  readonly name: X86_64SyscallName;
  readonly args?: readonly bigint[];
  readonly expected: SeccompResult;
  readonly why?: string;
}

const ALLOWED_CALLS: Case[] = [
  ...(['read', 'write', 'openat', 'close', 'getpid', 'execve', 'execveat', 'exit_group', 'mmap', 'mprotect',
    'brk', 'rt_sigaction', 'rt_sigreturn', 'wait4', 'pipe2', 'dup2', 'fork', 'vfork', 'memfd_create', 'statx',
    'faccessat2', 'close_range', 'rseq', 'getrandom', 'pidfd_open', 'pidfd_send_signal',
    'io_submit', 'io_getevents', 'setpgid', 'getpgrp', 'setsid', 'futex', 'epoll_pwait2', 'uname', 'sysinfo',
    'prctl', 'fchmodat2', 'mseal', 'kill', 'arch_prctl', 'set_robust_list', 'sched_getaffinity',
    'prlimit64', 'getdents64', 'newfstatat', 'connect', 'bind'] as const)
    .map((name): Case => ({ name, expected: ALLOW })),
  { name: 'clone', args: [SIGCHLD], expected: ALLOW, why: 'fork-style' },
  { name: 'clone', args: [CLONE_THREAD_FLAGS], expected: ALLOW, why: 'a thread' },
  { name: 'ioctl', args: [0n, 0x5401n], expected: ALLOW, why: 'TCGETS' },
  { name: 'ioctl', args: [0n, 0x5402n], expected: ALLOW, why: 'TCSETS' },
  { name: 'ioctl', args: [0n, 0x540fn], expected: ALLOW, why: 'TIOCGPGRP' },
  { name: 'ioctl', args: [0n, 0x5410n], expected: ALLOW, why: 'TIOCSPGRP' },
  { name: 'ioctl', args: [0n, 0x5413n], expected: ALLOW, why: 'TIOCGWINSZ' },
  { name: 'ioctl', args: [0n, 0x541bn], expected: ALLOW, why: 'FIONREAD' },
  { name: 'ioctl', args: [0n, 0xffffffff80045430n], expected: ALLOW, why: 'TIOCGPTN sign-extended' },
  { name: 'socket', args: [AF.UNIX], expected: ALLOW, why: 'AF_UNIX' },
  { name: 'socket', args: [AF.INET], expected: ALLOW, why: 'AF_INET' },
  { name: 'socket', args: [AF.INET6], expected: ALLOW, why: 'AF_INET6' },
  { name: 'socket', args: [AF.NETLINK], expected: ALLOW, why: 'AF_NETLINK' },
  { name: 'socketpair', args: [AF.UNIX], expected: ALLOW, why: 'AF_UNIX' },
  ...[0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn].map(
    (persona): Case => ({ name: 'personality', args: [persona], expected: ALLOW, why: `0x${persona.toString(16)}` }),
  ),
];

const REFUSED_CALLS: Case[] = [
  ...(['unshare', 'setns', 'mount', 'umount2', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount',
    'open_tree', 'mount_setattr', 'pivot_root', 'chroot', 'add_key', 'request_key', 'keyctl', 'bpf',
    'perf_event_open', 'userfaultfd', 'io_setup', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'ptrace',
    'process_vm_readv', 'process_vm_writev', 'pidfd_getfd', 'kcmp', 'kexec_load', 'kexec_file_load',
    'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'name_to_handle_at', 'reboot',
    'swapon', 'swapoff', 'clock_settime', 'settimeofday', 'adjtimex', 'clock_adjtime', 'acct', 'quotactl',
    'lookup_dcookie', 'nfsservctl', 'uselib', 'iopl', 'ioperm', 'sysfs', '_sysctl', 'syslog', 'fanotify_init',
    'mbind', 'set_mempolicy', 'move_pages', 'modify_ldt', 'vhangup', 'sethostname'] as const)
    .map((name): Case => ({ name, expected: REFUSED })),
  ...Object.entries(CLONE_NEW).map(
    ([flag, bit]): Case => ({ name: 'clone', args: [bit | SIGCHLD], expected: REFUSED, why: `CLONE_${flag}` }),
  ),
  { name: 'clone', args: [0xffffffff00000000n | CLONE_NEW.NEWUSER | SIGCHLD], expected: REFUSED, why: 'CLONE_NEWUSER, high bits set' },
  { name: 'unshare', args: [0n], expected: REFUSED, why: 'no flags' },
  ...Object.entries(IOCTL_REFUSED).flatMap(([cmd, value]): Case[] => [
    { name: 'ioctl', args: [0n, value], expected: REFUSED, why: cmd },
    { name: 'ioctl', args: [0n, 0xffffffff00000000n | value], expected: REFUSED, why: `${cmd}, high bits set` },
    { name: 'ioctl', args: [0n, 0x100000000n | value], expected: REFUSED, why: `${cmd}, bit 32 set` },
  ]),
  { name: 'socket', args: [AF.ALG], expected: REFUSED, why: 'AF_ALG' },
  { name: 'socket', args: [AF.VSOCK], expected: REFUSED, why: 'AF_VSOCK' },
  { name: 'socket', args: [AF.PACKET], expected: REFUSED, why: 'AF_PACKET' },
  { name: 'socket', args: [AF.KEY], expected: REFUSED, why: 'AF_KEY' },
  { name: 'socket', args: [AF.BLUETOOTH], expected: REFUSED, why: 'AF_BLUETOOTH' },
  { name: 'socketpair', args: [AF.INET], expected: REFUSED, why: 'AF_INET' },
  { name: 'personality', args: [0x0040000n], expected: REFUSED, why: 'ADDR_NO_RANDOMIZE' },
  { name: 'personality', args: [0x0400000n], expected: REFUSED, why: 'READ_IMPLIES_EXEC' },
  { name: 'clone3', expected: ABSENT, why: 'ENOSYS, so that glibc falls back to clone' },
];

for (const c of [...ALLOWED_CALLS, ...REFUSED_CALLS]) {
  const shown = c.why === undefined ? c.name : `${c.name} (${c.why})`;
  const verdict = c.expected.action === 'allow' ? 'is allowed' : `fails with errno ${c.expected.data}`;
  test(`${shown} ${verdict}`, (t) => {
    t.deepEqual(call(c.name, ...(c.args ?? [])), c.expected);
  });
}

test('i386 syscalls (int 0x80) kill the process', (t) => {
  for (const nr of [1, 11, 120, 0]) {  // exit, execve, clone, restart_syscall on i386
    t.deepEqual(evaluateSeccomp(program(), { nr, arch: AUDIT_ARCH_I386 }), KILLED);
  }
});

test('x32 syscalls (nr | 0x40000000 on x86-64) kill the process', (t) => {
  for (const nr of [X86_64.read, X86_64.getpid, X86_64.execve, 512, 0]) {
    t.deepEqual(evaluateSeccomp(program(), { nr: nr | X32_SYSCALL_BIT, arch: AUDIT_ARCH_X86_64 }), KILLED);
  }
});

test('any other architecture kills the process', (t) => {
  t.deepEqual(evaluateSeccomp(program(), { nr: X86_64.read, arch: 0xc00000b7 }), KILLED);  // aarch64
});

test('syscall numbers the profile does not know are refused with EPERM', (t) => {
  for (const nr of [470, 471, 500, 1000, 0x3fffffff, -1]) {
    t.deepEqual(evaluateSeccomp(program(), { nr }), REFUSED, `nr ${nr}`);
  }
});

test('ioctl is allowed for every command but the four refused ones, whatever the high 32 bits', (t) => {
  const refused = new Set<bigint>(Object.values(IOCTL_REFUSED));
  const commands: bigint[] = [];
  for (let cmd = 0x5300n; cmd <= 0x55ffn; cmd++) commands.push(cmd);
  for (let bit = 0n; bit < 32n; bit++) commands.push(1n << bit, (1n << bit) ^ 0x5412n);
  let seed = 0x2545f491;
  for (let i = 0; i < 2000; i++) {  // xorshift32: reproducible spread over the 32-bit space
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    commands.push(BigInt(seed));
  }
  let mismatches = 0;
  for (const low of commands) {
    for (const high of [0n, 0xffffffff00000000n, 0x12345678n << 32n]) {
      const expected = refused.has(low) ? REFUSED : ALLOW;
      const got = call('ioctl', 3n, high | low);
      if (got.action !== expected.action || got.data !== expected.data) mismatches++;
    }
  }
  t.is(mismatches, 0);
});

test('clone is refused whenever any namespace flag is set, alone or combined', (t) => {
  const bits = Object.values(CLONE_NEW);
  for (let subset = 1; subset < 1 << bits.length; subset++) {
    const flags = bits.reduce((acc, bit, i) => ((subset >> i) & 1 ? acc | bit : acc), CLONE_THREAD_FLAGS);
    t.deepEqual(call('clone', flags), REFUSED, `flags 0x${flags.toString(16)}`);
  }
});

test('the bpf export is a whole sock_filter array, identical on every call', (t) => {
  const first = nativeAddon().seccompFilter('default', 'bpf');
  const second = nativeAddon().seccompFilter('default', 'bpf');
  t.true(first.length > 0 && first.length % 8 === 0);
  t.true(first.length / 8 <= 4096);
  t.true(first.equals(second));
});

test('the pfc export describes the same policy as text', (t) => {
  const pfc = nativeAddon().seccompFilter('default', 'pfc');
  t.regex(pfc, /filter for arch x86_64/);
  t.regex(pfc, /action ERRNO\(1\);/);
  t.regex(pfc, /invalid architecture action\s+action KILL_PROCESS;/);
  t.regex(pfc, /filter for syscall "clone3".*\n.*\n\s+action ERRNO\(38\);/);
});

test('seccompFilter refuses unknown profiles and formats with a TypeError', (t) => {
  const addon = nativeAddon();
  const seccompFilter = (profile: unknown, format: unknown): unknown => Reflect.apply(addon.seccompFilter, addon, [profile, format]);
  t.throws(() => seccompFilter('none', 'bpf'), { instanceOf: TypeError, message: /profile must be 'default'/ });
  t.throws(() => seccompFilter('default', 'json'), { instanceOf: TypeError, message: /format must be 'bpf' or 'pfc'/ });
});
