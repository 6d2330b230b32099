/**
 * Behaviour: encodeLaunchPlan writes exactly the record format of
 * docs/internals/launcher-contract.md — byte lengths in UTF-8, records in a fixed order,
 * Docker's /proc masks, nothing secret from the host's /etc, the compiled seccomp filter in
 * hex — and refuses a plan over SPEC_BOUNDS.planMaxBytes, a field the environment cannot
 * carry, or a filter the kernel could not load.
 */
import test from 'ava';

import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { encodeLaunchPlan, launchPlanRecords, type LaunchContext, type PlanKey } from '../../../server/sandbox/launch-plan.js';
import { SPEC_BOUNDS, type SandboxSpec } from '../../../server/sandbox/sandbox-spec.js';
import { parseSandboxSpec } from '../../../server/sandbox/spec-validation.js';
import { decodeLaunchPlan, type DecodedRecord } from '../../helpers/launch-plan-decoder.js';

const MIB = 1024 * 1024;

const SMALL_SPEC = parseSandboxSpec({
  argv: ['/bin/echo', 'héllo ✓'],
  hostname: 'box',
  env: { LANG: null, TERM: null, SHELL: null, LOGNAME: null, USER: null, PATH: '/usr/bin:/bin' },
  limits: { memoryBytes: 64 * MIB, pids: 32, timeLimitMs: 30_000, ptys: 4, openFiles: 256, fileSizeBytes: MIB },
  binds: [
    { src: '/srv/project', dst: '/home/user/project', writable: true },
    { src: '/srv/ref', dst: '/ref', optional: true },
  ],
});

// Two struct sock_filter (8 bytes each): BPF_LD|BPF_W|BPF_ABS of the syscall number, then
// BPF_RET SECCOMP_RET_ALLOW. Bytes as they lie in memory (little-endian fields).
const PROGRAM = Uint8Array.from([0x20, 0, 0, 0, 0, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);

const CONTEXT: LaunchContext = {
  uidRange: { start: 100000, count: 65536 },
  cgroupDirs: ['/sys/fs/cgroup/memory/sg/s1', '/sys/fs/cgroup/pids/sg/s1'],
  reportPath: '/var/lib/sandgate/s1.json',
  seccompPrograms: { default: PROGRAM },
};

const MINIMAL_CONTEXT: LaunchContext = { uidRange: { start: 100000, count: 1 }, cgroupDirs: [], seccompPrograms: { default: PROGRAM } };

// One record per string, each checked by hand against the contract (lengths in bytes, one
// newline after every field): any change to the format, the order or the default layout
// shows up here first.
const GOLDEN_RECORDS: readonly string[] = [
  'version 1\n1\n', 'hostname 3\nbox\n', 'uid_range 6 5\n100000\n65536\n',
  'user 4 4 4 10\n1000\n1000\nuser\n/home/user\n', 'root_tmpfs 7\n1048576\n', 'system_path 4\n/usr\n',
  'system_path 4\n/bin\n', 'system_path 4\n/lib\n', 'system_path 6\n/lib32\n', 'system_path 6\n/lib64\n',
  'system_path 7\n/libx32\n', 'system_path 5\n/sbin\n',
  'etc_file 6 4 102\npasswd\n0644\nuser:x:1000:1000:user:/home/user:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\n',
  'etc_file 5 4 30\ngroup\n0644\nuser:x:1000:\nnogroup:x:65534:\n\n',
  'etc_file 5 4 75\nhosts\n0644\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n\n',
  'etc_file 8 4 4\nhostname\n0644\nbox\n\n',
  'etc_file 13 4 103\nnsswitch.conf\n0644\npasswd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nprotocols: files\nservices: files\n\n',
  'tmpfs 4 8 4 4\n/tmp\n16777216\n1777\nroot\n', 'tmpfs 10 8 4 4\n/home/user\n16777216\n0700\nuser\n',
  'tmpfs 8 8 4 4\n/dev/shm\n16777216\n1777\nroot\n', 'bind 3 17 17\nro?\n/etc/alternatives\n/etc/alternatives\n',
  'bind 3 16 16\nro?\n/etc/ld.so.cache\n/etc/ld.so.cache\n', 'bind 3 15 15\nro?\n/etc/ld.so.conf\n/etc/ld.so.conf\n',
  'bind 3 17 17\nro?\n/etc/ld.so.conf.d\n/etc/ld.so.conf.d\n',
  'bind 3 16 16\nro?\n/etc/bash.bashrc\n/etc/bash.bashrc\n', 'bind 3 12 12\nro?\n/etc/profile\n/etc/profile\n',
  'bind 3 14 14\nro?\n/etc/profile.d\n/etc/profile.d\n', 'bind 3 12 12\nro?\n/etc/inputrc\n/etc/inputrc\n',
  'bind 3 13 13\nro?\n/etc/terminfo\n/etc/terminfo\n', 'bind 3 14 14\nro?\n/etc/localtime\n/etc/localtime\n',
  'bind 3 13 13\nro?\n/etc/services\n/etc/services\n', 'bind 3 14 14\nro?\n/etc/protocols\n/etc/protocols\n',
  'bind 3 15 15\nro?\n/etc/os-release\n/etc/os-release\n', 'bind 3 14 14\nro?\n/etc/ssl/certs\n/etc/ssl/certs\n',
  'bind 2 12 18\nrw\n/srv/project\n/home/user/project\n', 'bind 3 8 4\nro?\n/srv/ref\n/ref\n', 'devpts_max 1\n4\n',
  'proc_mask 10\n/proc/acpi\n', 'proc_mask 12\n/proc/asound\n', 'proc_mask 14\n/proc/kallsyms\n',
  'proc_mask 11\n/proc/kcore\n', 'proc_mask 15\n/proc/key-users\n', 'proc_mask 10\n/proc/keys\n',
  'proc_mask 10\n/proc/kmsg\n', 'proc_mask 19\n/proc/latency_stats\n', 'proc_mask 17\n/proc/sched_debug\n',
  'proc_mask 10\n/proc/scsi\n', 'proc_mask 31\n/proc/sys/kernel/random/boot_id\n', 'proc_mask 19\n/proc/sysrq-trigger\n', 'proc_mask 16\n/proc/timer_list\n',
  'proc_mask 17\n/proc/timer_stats\n', 'proc_readonly 9\n/proc/bus\n', 'proc_readonly 8\n/proc/fs\n',
  'proc_readonly 9\n/proc/irq\n', 'proc_readonly 9\n/proc/sys\n', 'proc_readonly 19\n/proc/sysrq-trigger\n',
  'rlimit 4 1 1\ncore\n0\n0\n', 'rlimit 5 7 7\nfsize\n1048576\n1048576\n', 'rlimit 7 5 5\nmemlock\n65536\n65536\n',
  'rlimit 8 6 6\nmsgqueue\n262144\n262144\n', 'rlimit 4 1 1\nnice\n0\n0\n', 'rlimit 6 3 3\nnofile\n256\n256\n',
  'rlimit 5 2 2\nnproc\n32\n32\n', 'rlimit 6 1 1\nrtprio\n0\n0\n', 'rlimit 10 4 4\nsigpending\n4096\n4096\n',
  'cgroup 27\n/sys/fs/cgroup/memory/sg/s1\n', 'cgroup 25\n/sys/fs/cgroup/pids/sg/s1\n', 'network 4\nnone\n',
  'seccomp 7\ndefault\n', 'seccomp_bpf 32\n2000000000000000060000000000ff7f\n', 'time_limit_ms 5\n30000\n', 'cwd 10\n/home/user\n', 'env 15\nHOME=/home/user\n',
  'env 18\nPATH=/usr/bin:/bin\n', 'argv 9\n/bin/echo\n', 'argv 10\nhéllo ✓\n',
  'report_path 25\n/var/lib/sandgate/s1.json\n',
];

/** Field count of each key (launcher-contract.md, "Launch plan" table). */
const FIELD_COUNTS: Record<PlanKey, number> = {
  version: 1, hostname: 1, uid_range: 2, user: 4, root_tmpfs: 1, system_path: 1, etc_file: 3, tmpfs: 4, bind: 3,
  devpts_max: 1, proc_mask: 1, proc_readonly: 1, rlimit: 3, cgroup: 1, network: 1, seccomp: 1, seccomp_bpf: 1, time_limit_ms: 1,
  cwd: 1, env: 1, argv: 1, pty_end_marker: 1, report_path: 1,
};
const KEY_ORDER = Object.keys(FIELD_COUNTS);
const FIELD_COUNT_OF = new Map<string, number>(Object.entries(FIELD_COUNTS));

const DOCKER_MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi',
];
const DOCKER_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function decodedPlan(spec: SandboxSpec = SMALL_SPEC, context: LaunchContext = CONTEXT): DecodedRecord[] {
  return decodeLaunchPlan(encodeLaunchPlan(spec, context));
}

function fieldsOf(records: readonly DecodedRecord[], key: PlanKey): Array<readonly string[]> {
  return records.filter((record) => record.key === key).map((record) => record.fields);
}

function withArgv(argv: readonly string[]): SandboxSpec {
  return { ...SMALL_SPEC, argv };
}

test('a small spec encodes to the golden bytes', (t) => {
  t.is(encodeLaunchPlan(SMALL_SPEC, CONTEXT), GOLDEN_RECORDS.join(''));
});

test('field lengths count UTF-8 bytes, not UTF-16 units', (t) => {
  const plan = encodeLaunchPlan(SMALL_SPEC, CONTEXT);
  t.is('héllo ✓'.length, 7);
  t.true(plan.includes('argv 10\nhéllo ✓\n'));
  t.deepEqual(fieldsOf(decodedPlan(), 'argv'), [['/bin/echo'], ['héllo ✓']]);
});

test('the decoder reads back exactly the records the encoder planned', (t) => {
  const planned = launchPlanRecords(SMALL_SPEC, CONTEXT).map(({ key, fields }) => ({ key, fields: [...fields] }));
  t.deepEqual(decodedPlan(), planned);
});

test('every record has the field count of the contract, in the contract order, version first', (t) => {
  const records = decodedPlan();
  t.is(records[0]?.key, 'version');
  let lastIndex = 0;
  for (const record of records) {
    const index = KEY_ORDER.indexOf(record.key);
    t.true(index >= lastIndex, `${record.key} out of order`);
    lastIndex = index;
    t.is(FIELD_COUNT_OF.get(record.key), record.fields.length, record.key);
  }
  for (const key of ['version', 'hostname', 'uid_range', 'user', 'root_tmpfs', 'devpts_max', 'network', 'seccomp', 'seccomp_bpf', 'time_limit_ms', 'cwd']) {
    t.is(records.filter((record) => record.key === key).length, 1, `${key} exactly once`);
  }
});

test('the /proc masks include Docker\'s masked and read-only lists', (t) => {
  const records = decodedPlan();
  const masked = fieldsOf(records, 'proc_mask').map(([path]) => path);
  const readonly = fieldsOf(records, 'proc_readonly').map(([path]) => path);
  for (const path of DOCKER_MASKED_PATHS) t.true(masked.includes(path), `${path} masked`);
  for (const path of DOCKER_READONLY_PATHS) t.true(readonly.includes(path), `${path} read-only`);
  t.true(masked.includes('/proc/kmsg') && masked.includes('/proc/sysrq-trigger') && masked.includes('/proc/kallsyms'));
});

test('nothing secret of the host\'s /etc appears anywhere in the plan', (t) => {
  const plan = encodeLaunchPlan(SMALL_SPEC, CONTEXT);
  t.false(/:\$[0-9a-z]+\$/.test(plan), 'no password hash');
  for (const secret of ['/etc/shadow', 'gshadow', 'sudoers', '/etc/ssh', 'machine-id', '/root', 'resolv.conf', '/etc/environment']) {
    t.false(plan.includes(secret), secret);
  }
  t.true(plan.includes('shadow: files'), 'nsswitch names the shadow database, which has no file');
});

test('passwd has the sandbox user and nobody, and no uid 0 (unmapped inside)', (t) => {
  const passwd = fieldsOf(decodedPlan(), 'etc_file').find(([name]) => name === 'passwd');
  t.deepEqual(passwd?.[2]?.split('\n'), [
    'user:x:1000:1000:user:/home/user:/bin/bash',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    '',
  ]);
  t.false(/^[^:]*:x:0:/m.test(passwd?.[2] ?? ''));
});

test('tmpfs, devpts, rlimits and the time limit come from the spec\'s limits', (t) => {
  const records = decodedPlan();
  t.deepEqual(fieldsOf(records, 'tmpfs'), [
    ['/tmp', String(16 * MIB), '1777', 'root'],
    ['/home/user', String(16 * MIB), '0700', 'user'],
    ['/dev/shm', String(16 * MIB), '1777', 'root'],
  ]);
  t.deepEqual(fieldsOf(records, 'devpts_max'), [['4']]);
  const rlimits = new Map(fieldsOf(records, 'rlimit').map(([name, soft, hard]) => [name, [soft, hard]]));
  t.deepEqual(rlimits.get('nofile'), ['256', '256']);
  t.deepEqual(rlimits.get('fsize'), [String(MIB), String(MIB)]);
  t.deepEqual(rlimits.get('core'), ['0', '0']);
  t.deepEqual(rlimits.get('nproc'), ['32', '32']);
  t.deepEqual(fieldsOf(records, 'time_limit_ms'), [['30000']]);
});

test('spec binds follow the layout\'s optional /etc binds, with their modes', (t) => {
  const binds = fieldsOf(decodedPlan(), 'bind');
  t.true(binds.slice(0, -2).every(([mode, src, dst]) => mode === 'ro?' && src === dst && src?.startsWith('/etc/')));
  t.deepEqual(binds.slice(-2), [
    ['rw', '/srv/project', '/home/user/project'],
    ['ro?', '/srv/ref', '/ref'],
  ]);
  const spec: SandboxSpec = { ...SMALL_SPEC, binds: [{ src: '/a', dst: '/b', writable: true, optional: true }, { src: '/c', dst: '/d', writable: false, optional: false }] };
  t.deepEqual(fieldsOf(decodedPlan(spec), 'bind').slice(-2), [['rw?', '/a', '/b'], ['ro', '/c', '/d']]);
});

test('env is sorted by name, so JSON key order does not change the plan', (t) => {
  const one = parseSandboxSpec({ argv: ['/bin/true'], env: { ZED: '1', ALPHA: '2' } });
  const other = parseSandboxSpec({ argv: ['/bin/true'], env: { ALPHA: '2', ZED: '1' } });
  t.is(encodeLaunchPlan(one, CONTEXT), encodeLaunchPlan(other, CONTEXT));
  const names = fieldsOf(decodedPlan(one), 'env').map(([entry]) => entry?.split('=')[0] ?? '');
  t.deepEqual(names, [...names].sort());
});

test('without a report path or cgroups there are no such records', (t) => {
  const records = decodedPlan(SMALL_SPEC, MINIMAL_CONTEXT);
  t.deepEqual(fieldsOf(records, 'report_path'), []);
  t.deepEqual(fieldsOf(records, 'cgroup'), []);
});

test('a plan of exactly planMaxBytes bytes passes and one byte more is refused', (t) => {
  const base = Buffer.byteLength(encodeLaunchPlan(withArgv(['/bin/true', 'x'.repeat(30_000), 'x'.repeat(10_000)]), CONTEXT));
  // The padding is two-byte "é"s (plus one "x" for an odd count): a length counted in UTF-16
  // units would put the bound in the wrong place.
  const padBytes = 10_000 + SPEC_BOUNDS.planMaxBytes - base;
  const pad = (bytes: number): string => 'é'.repeat(Math.floor(bytes / 2)) + 'x'.repeat(bytes % 2);
  const exact = encodeLaunchPlan(withArgv(['/bin/true', 'x'.repeat(30_000), pad(padBytes)]), CONTEXT);
  t.is(Buffer.byteLength(exact), SPEC_BOUNDS.planMaxBytes);
  const error = t.throws(() => encodeLaunchPlan(withArgv(['/bin/true', 'x'.repeat(30_000), pad(padBytes + 1)]), CONTEXT));
  t.true(isSandgateError(error, 'SG_SPEC_INVALID'), String(error));
  t.regex(error?.message ?? '', /65536 bytes \(SPEC_BOUNDS\.planMaxBytes\)/);
});

test('a spec valid field by field but too large in total is refused', (t) => {
  const argv = ['/bin/true', ...Array.from({ length: 3 }, () => 'x'.repeat(SPEC_BOUNDS.argMaxBytes))];
  const spec = parseSandboxSpec({ argv });
  const error = t.throws(() => encodeLaunchPlan(spec, CONTEXT));
  t.true(isSandgateError(error, 'SG_SPEC_INVALID'));
  t.is(isSandgateError(error) ? error.details['field'] : undefined, 'argv');
});

const BAD_INPUTS: ReadonlyArray<readonly [string, SandboxSpec, LaunchContext, string]> = [
  ['NUL in an argument built without parseSandboxSpec', withArgv(['/bin/echo', 'a\0b']), CONTEXT, 'argv'],
  ['NUL in an env value', { ...SMALL_SPEC, env: { A: 'x\0y' } }, CONTEXT, 'env'],
  ['an unpaired surrogate in a bind', { ...SMALL_SPEC, binds: [{ src: '/a\uDC00', dst: '/b', writable: false, optional: false }] }, CONTEXT, 'bind'],
  ['a fractional limit', { ...SMALL_SPEC, limits: { ...SMALL_SPEC.limits, ptys: 1.5 } }, CONTEXT, 'limits.ptys'],
  ['uid range starting at 0 (host root)', SMALL_SPEC, { ...CONTEXT, uidRange: { start: 0, count: 10 } }, 'context.uidRange'],
  ['an empty uid range', SMALL_SPEC, { ...CONTEXT, uidRange: { start: 100000, count: 0 } }, 'context.uidRange'],
  ['a uid range reaching (uid_t)-1', SMALL_SPEC, { ...CONTEXT, uidRange: { start: 2 ** 32 - 10, count: 10 } }, 'context.uidRange'],
  ['a relative cgroup dir', SMALL_SPEC, { ...CONTEXT, cgroupDirs: ['sg/s1'] }, 'context.cgroupDirs[0]'],
  ['a report path with ..', SMALL_SPEC, { ...CONTEXT, reportPath: '/var/lib/../../etc/passwd' }, 'context.reportPath'],
  ['an empty seccomp program', SMALL_SPEC, { ...CONTEXT, seccompPrograms: { default: new Uint8Array(0) } }, 'context.seccompPrograms.default'],
  ['a seccomp program cut inside an instruction', SMALL_SPEC, { ...CONTEXT, seccompPrograms: { default: PROGRAM.subarray(0, 12) } }, 'context.seccompPrograms.default'],
  ['a seccomp program longer than BPF_MAXINSNS', SMALL_SPEC, { ...CONTEXT, seccompPrograms: { default: new Uint8Array(4097 * 8) } }, 'context.seccompPrograms.default'],
];

for (const [title, spec, context, field] of BAD_INPUTS) {
  test(`the encoder refuses ${title}`, (t) => {
    const error = t.throws(() => encodeLaunchPlan(spec, context));
    t.true(isSandgateError(error, 'SG_SPEC_INVALID'), String(error));
    t.is(isSandgateError(error) ? error.details['field'] : undefined, field);
  });
}

test('a PTY spawn\'s end nonce is one pty_end_marker record, just before report_path; a nonce that is not 32 lowercase hex digits is refused', (t) => {
  const nonce = '0123456789abcdef0123456789abcdef';
  const plan = encodeLaunchPlan(SMALL_SPEC, { ...CONTEXT, ptyEndNonce: nonce });
  t.true(plan.endsWith(`pty_end_marker 32\n${nonce}\nreport_path 25\n/var/lib/sandgate/s1.json\n`));
  t.deepEqual(fieldsOf(decodeLaunchPlan(plan), 'pty_end_marker'), [[nonce]]);
  t.deepEqual(fieldsOf(decodedPlan(), 'pty_end_marker'), [], 'none without a nonce (pipes)');
  for (const bad of ['0123456789ABCDEF0123456789abcdef', 'abc', `${nonce}0`]) {
    const error = t.throws(() => encodeLaunchPlan(SMALL_SPEC, { ...CONTEXT, ptyEndNonce: bad }));
    t.true(isSandgateError(error, 'SG_SPEC_INVALID'), String(error));
  }
});
