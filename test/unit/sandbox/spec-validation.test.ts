/**
 * Behaviour: parseSandboxSpec refuses every malformed or hostile spec with SG_SPEC_INVALID or
 * SG_SPEC_FORBIDDEN and a message that starts with the field path, fills what is missing
 * from the defaults, and returns a deeply frozen copy that shares nothing with its input.
 */
import test from 'ava';

import type { ErrorCode } from '../../../client-sdk/src/errors/error-codes.js';
import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { DEFAULT_ENV, DEFAULT_LIMITS, SPEC_BOUNDS } from '../../../server/sandbox/sandbox-spec.js';
import { TMPFS_HEADROOM_BYTES } from '../../../server/sandbox/spec-limits.js';
import { PATH_MAX_BYTES, parseSandboxSpec } from '../../../server/sandbox/spec-validation.js';

const MIB = 1024 * 1024;
const ARGV = ['/bin/true'];

interface Refusal {
  readonly title: string;
  readonly input: unknown;
  readonly code: ErrorCode;
  /** `details.field`, which the message must also start with. */
  readonly field: string;
}

const invalid = (title: string, input: unknown, field: string): Refusal => ({ title, input, code: 'SG_SPEC_INVALID', field });
const forbidden = (title: string, input: unknown, field: string): Refusal => ({ title, input, code: 'SG_SPEC_FORBIDDEN', field });
const withArgv = (rest: Record<string, unknown>): Record<string, unknown> => ({ argv: ARGV, ...rest });
const bind = (fields: Record<string, unknown>): Record<string, unknown> => withArgv({ binds: [fields] });

function accessorSpec(): object {
  const spec = {};
  Object.defineProperty(spec, 'argv', { enumerable: true, get: () => ARGV });
  return spec;
}

const REFUSALS: readonly Refusal[] = [
  // --- shape and unknown fields, at every level ---
  invalid('null', null, 'spec'),
  invalid('an array', [ARGV], 'spec'),
  invalid('a string', '{"argv":["/bin/true"]}', 'spec'),
  invalid('a class instance', new Date(0), 'spec'),
  invalid('an accessor property', accessorSpec(), 'argv'),
  invalid('an unknown top-level field', withArgv({ privileged: true }), 'privileged'),
  invalid('a __proto__ key from JSON.parse', JSON.parse('{"argv":["/bin/true"],"__proto__":{"x":1}}'), '__proto__'),
  invalid('an unknown limit (typo)', withArgv({ limits: { memroyBytes: 1 } }), 'limits.memroyBytes'),
  invalid('an unknown bind field', bind({ src: '/srv', mode: 'rw' }), 'binds[0].mode'),
  invalid('limits as an array', withArgv({ limits: [] }), 'limits'),
  invalid('env as an array', withArgv({ env: ['A=1'] }), 'env'),
  // --- argv ---
  invalid('no argv', {}, 'argv'),
  invalid('empty argv', { argv: [] }, 'argv'),
  invalid('argv as a string', { argv: '/bin/true' }, 'argv'),
  invalid('a number in argv', { argv: ['/bin/echo', 1] }, 'argv[1]'),
  invalid('a hole in argv', { argv: ['/bin/echo', undefined] }, 'argv[1]'),
  invalid('NUL in argv', { argv: ['/bin/echo', 'a\0b'] }, 'argv[1]'),
  invalid('an empty argv[0]', { argv: [''] }, 'argv[0]'),
  invalid('an unpaired surrogate in argv', { argv: ['/bin/echo', 'a\uD800b'] }, 'argv[1]'),
  // 16385 × "é" is 32770 bytes but only 16385 UTF-16 units: the bound is in bytes.
  invalid('an argument over argMaxBytes in UTF-8', { argv: ['/bin/echo', 'é'.repeat(SPEC_BOUNDS.argMaxBytes / 2 + 1)] }, 'argv[1]'),
  invalid('more than argvMaxItems arguments', { argv: Array.from({ length: SPEC_BOUNDS.argvMaxItems + 1 }, () => 'x') }, 'argv'),
  // --- env ---
  invalid('an env name starting with a digit', withArgv({ env: { '1A': 'x' } }), 'env["1A"]'),
  invalid('an env name with a hyphen', withArgv({ env: { 'A-B': 'x' } }), 'env["A-B"]'),
  invalid('an env name with =', withArgv({ env: { 'A=B': 'x' } }), 'env["A=B"]'),
  invalid('an empty env name', withArgv({ env: { '': 'x' } }), 'env[""]'),
  invalid('a number as env value', withArgv({ env: { A: 1 } }), 'env.A'),
  invalid('NUL in an env value', withArgv({ env: { A: 'x\0y' } }), 'env.A'),
  invalid('an env entry over argMaxBytes', withArgv({ env: { A: 'x'.repeat(SPEC_BOUNDS.argMaxBytes) } }), 'env.A'),
  invalid(
    'more than envMaxItems variables',
    withArgv({ env: Object.fromEntries(Array.from({ length: SPEC_BOUNDS.envMaxItems + 1 }, (_, i) => [`V${i}`, 'x'])) }),
    'env',
  ),
  forbidden('the launch plan variable', withArgv({ env: { SANDGATE_LAUNCH_PLAN: 'x' } }), 'env.SANDGATE_LAUNCH_PLAN'),
  forbidden('the insecure-test switch', withArgv({ env: { SANDGATE_INSECURE_TEST: '1' } }), 'env.SANDGATE_INSECURE_TEST'),
  forbidden('the gateway Redis URL', withArgv({ env: { REDIS_URL: 'redis://:secret@h' } }), 'env.REDIS_URL'),
  // --- paths (cwd shows the rules every path follows) ---
  invalid('a relative cwd', withArgv({ cwd: 'home/user' }), 'cwd'),
  invalid('a cwd with ..', withArgv({ cwd: '/home/../etc' }), 'cwd'),
  invalid('a cwd with .', withArgv({ cwd: '/home/./user' }), 'cwd'),
  invalid('a cwd with //', withArgv({ cwd: '//home' }), 'cwd'),
  invalid('a cwd with a trailing slash', withArgv({ cwd: '/home/user/' }), 'cwd'),
  invalid('a cwd with NUL', withArgv({ cwd: '/home\0/user' }), 'cwd'),
  invalid('a cwd with a newline', withArgv({ cwd: '/home/user\n' }), 'cwd'),
  invalid('a cwd with an escape', withArgv({ cwd: '/home/\u001b[2J' }), 'cwd'),
  invalid('a cwd over PATH_MAX_BYTES', withArgv({ cwd: `/${'a'.repeat(PATH_MAX_BYTES)}` }), 'cwd'),
  invalid('an empty cwd', withArgv({ cwd: '' }), 'cwd'),
  invalid('a cwd as a number', withArgv({ cwd: 1 }), 'cwd'),
  // --- hostname, network, seccomp ---
  invalid('a hostname with _', withArgv({ hostname: 'a_b' }), 'hostname'),
  invalid('a hostname with a dot (two labels)', withArgv({ hostname: 'a.b' }), 'hostname'),
  invalid('a hostname starting with -', withArgv({ hostname: '-a' }), 'hostname'),
  invalid('a hostname ending with -', withArgv({ hostname: 'a-' }), 'hostname'),
  invalid('a hostname over 63 bytes', withArgv({ hostname: 'a'.repeat(64) }), 'hostname'),
  invalid('an empty hostname', withArgv({ hostname: '' }), 'hostname'),
  invalid('network host', withArgv({ network: 'host' }), 'network'),
  invalid('seccomp none (only the launcher test switch allows it)', withArgv({ seccomp: 'none' }), 'seccomp'),
  // --- binds ---
  invalid('binds as an object', withArgv({ binds: { src: '/srv' } }), 'binds'),
  invalid('more than bindsMaxItems binds', withArgv({ binds: Array.from({ length: SPEC_BOUNDS.bindsMaxItems + 1 }, (_, i) => ({ src: `/srv/${i}` })) }), 'binds'),
  invalid('a bind without src', bind({ dst: '/data' }), 'binds[0].src'),
  invalid('a relative bind src', bind({ src: 'data', dst: '/data' }), 'binds[0].src'),
  invalid('a bind src with ..', bind({ src: '/srv/../etc/shadow', dst: '/x' }), 'binds[0].src'),
  invalid('a relative bind dst', bind({ src: '/srv', dst: 'srv' }), 'binds[0].dst'),
  invalid('writable as a string', bind({ src: '/srv', writable: 'yes' }), 'binds[0].writable'),
  invalid('optional as a number', bind({ src: '/srv', optional: 1 }), 'binds[0].optional'),
  forbidden('binding the host root', bind({ src: '/', dst: '/host' }), 'binds[0].src'),
  forbidden('binding /proc writable', bind({ src: '/proc', dst: '/p', writable: true }), 'binds[0].src'),
  forbidden('binding /proc read-only', bind({ src: '/proc', dst: '/p' }), 'binds[0].src'),
  forbidden('binding a host process root', bind({ src: '/proc/1/root', dst: '/p' }), 'binds[0].src'),
  forbidden('binding the cgroup tree', bind({ src: '/sys/fs/cgroup', dst: '/cg' }), 'binds[0].src'),
  forbidden('binding a host disk', bind({ src: '/dev/sda', dst: '/disk' }), 'binds[0].src'),
  forbidden('binding the docker socket', bind({ src: '/run/docker.sock', dst: '/d.sock' }), 'binds[0].src'),
  forbidden('binding the docker socket via /var/run', bind({ src: '/var/run/docker.sock', dst: '/d.sock' }), 'binds[0].src'),
  forbidden('binding /etc/shadow', bind({ src: '/etc/shadow', dst: '/shadow' }), 'binds[0].src'),
  forbidden('binding the host ssh keys', bind({ src: '/etc/ssh', dst: '/ssh' }), 'binds[0].src'),
  forbidden("binding root's home", bind({ src: '/root/.ssh', dst: '/keys' }), 'binds[0].src'),
  forbidden('a writable bind of /usr', bind({ src: '/usr', dst: '/hostusr', writable: true }), 'binds[0].src'),
  forbidden('a writable bind of /usr/local/share', bind({ src: '/usr/local/share', dst: '/share', writable: true }), 'binds[0].src'),
  forbidden('a writable bind of /etc/ssl', bind({ src: '/etc/ssl', dst: '/ssl', writable: true }), 'binds[0].src'),
  forbidden('a bind onto /', bind({ src: '/srv', dst: '/' }), 'binds[0].dst'),
  forbidden('a bind onto /proc', bind({ src: '/srv', dst: '/proc' }), 'binds[0].dst'),
  forbidden('a bind under /proc/sys', bind({ src: '/srv', dst: '/proc/sys/kernel' }), 'binds[0].dst'),
  forbidden('a bind onto /dev/shm', bind({ src: '/srv', dst: '/dev/shm' }), 'binds[0].dst'),
  forbidden('a bind onto /sys', bind({ src: '/srv', dst: '/sys' }), 'binds[0].dst'),
  forbidden('a bind replacing /usr', bind({ src: '/usr' }), 'binds[0].dst'),
  forbidden('a bind replacing /etc', bind({ src: '/srv/etc', dst: '/etc' }), 'binds[0].dst'),
  forbidden('a bind replacing /lib64', bind({ src: '/srv/lib', dst: '/lib64' }), 'binds[0].dst'),
  forbidden('a bind replacing /bin', bind({ src: '/srv/bin', dst: '/bin' }), 'binds[0].dst'),
  forbidden('a writable bind under /usr', bind({ src: '/srv', dst: '/usr/local/data', writable: true }), 'binds[0].dst'),
  invalid('a bind covering /tmp', bind({ src: '/srv', dst: '/tmp' }), 'binds[0].dst'),
  invalid('a bind covering the home tmpfs', bind({ src: '/srv', dst: '/home' }), 'binds[0].dst'),
  invalid('two binds onto one place', withArgv({ binds: [{ src: '/srv/a', dst: '/data' }, { src: '/srv/b', dst: '/data' }] }), 'binds[1].dst'),
  invalid(
    'an outer bind after an inner one',
    withArgv({ binds: [{ src: '/srv/a', dst: '/data/a' }, { src: '/srv', dst: '/data' }] }),
    'binds[1].dst',
  ),
  // --- limits (see also the table of absurd numbers below) ---
  invalid('tmpfs sizes filling the memory limit', withArgv({ limits: { memoryBytes: 64 * MIB, tmpBytes: 32 * MIB, homeBytes: 32 * MIB } }), 'limits'),
  invalid('a default memory limit below the given tmpfs', withArgv({ limits: { tmpBytes: 250 * MIB } }), 'limits'),
  invalid('fractional pids', withArgv({ limits: { pids: 1.5 } }), 'limits.pids'),
  invalid('cpuCores below the quota granularity', withArgv({ limits: { cpuCores: 0.001 } }), 'limits.cpuCores'),
];

for (const refusal of REFUSALS) {
  test(`refuses ${refusal.title} with ${refusal.code} naming ${refusal.field}`, (t) => {
    const error = t.throws(() => parseSandboxSpec(refusal.input));
    if (!isSandgateError(error)) return t.fail(`not a SandgateError: ${String(error)}`);
    t.is(error.code, refusal.code, error.message);
    t.is(error.details['field'], refusal.field, error.message);
    t.true(error.message.startsWith(refusal.field), error.message);
  });
}

const ABSURD_NUMBERS: readonly unknown[] = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e30, '256M', '1', null, true, [1], {}];
const INTEGER_LIMITS = ['memoryBytes', 'pids', 'tmpBytes', 'homeBytes', 'shmBytes', 'ptys', 'openFiles', 'fileSizeBytes'] as const;

for (const name of [...INTEGER_LIMITS, 'cpuCores'] as const) {
  test(`limits.${name} refuses absurd values, naming the limit`, (t) => {
    for (const value of ABSURD_NUMBERS) {
      const error = t.throws(() => parseSandboxSpec(withArgv({ limits: { [name]: value } })), undefined, `value ${String(value)}`);
      t.true(isSandgateError(error, 'SG_SPEC_INVALID'), `value ${String(value)}: ${String(error)}`);
      t.true(error?.message.startsWith(`limits.${name} must be`), error?.message);
    }
  });
}

test('timeLimitMs refuses negative, fractional and non-finite values but accepts 0 (none)', (t) => {
  for (const value of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, SPEC_BOUNDS.timeLimitMs.max + 1, '30s']) {
    const error = t.throws(() => parseSandboxSpec(withArgv({ limits: { timeLimitMs: value } })));
    t.true(isSandgateError(error, 'SG_SPEC_INVALID') && error.details['field'] === 'limits.timeLimitMs', String(value));
  }
  t.is(parseSandboxSpec(withArgv({ limits: { timeLimitMs: 0 } })).limits.timeLimitMs, 0);
});

test('an out-of-range limit names the limit, its unit and both bounds', (t) => {
  const error = t.throws(() => parseSandboxSpec(withArgv({ limits: { memoryBytes: 1 } })));
  t.is(error?.message, `limits.memoryBytes must be between ${16 * MIB} and ${64 * 1024 * MIB} bytes, got 1`);
  const pids = t.throws(() => parseSandboxSpec(withArgv({ limits: { pids: 1e30 } })));
  t.is(pids?.message, 'limits.pids must be between 8 and 65536 tasks, got 1e+30');
});

test('a minimal spec gets every default', (t) => {
  const spec = parseSandboxSpec({ argv: ['/bin/bash', '-l'] });
  t.deepEqual(spec, {
    argv: ['/bin/bash', '-l'],
    env: { ...DEFAULT_ENV },
    cwd: '/home/user',
    hostname: 'sandbox',
    limits: { ...DEFAULT_LIMITS },
    network: 'none',
    seccomp: 'default',
    binds: [],
  });
});

test('the result is deeply frozen', (t) => {
  const spec = parseSandboxSpec(withArgv({ env: { A: '1' }, binds: [{ src: '/srv/data', dst: '/home/user/data' }] }));
  for (const part of [spec, spec.argv, spec.env, spec.limits, spec.binds, spec.binds[0]]) t.true(Object.isFrozen(part));
});

test('the result shares nothing with its input', (t) => {
  const input = { argv: ['/bin/echo', 'a'], env: { A: '1' }, binds: [{ src: '/srv' }] };
  const spec = parseSandboxSpec(input);
  input.argv[1] = 'changed';
  input.env.A = 'changed';
  input.binds[0] = { src: '/changed' };
  t.deepEqual(spec.argv, ['/bin/echo', 'a']);
  t.is(spec.env['A'], '1');
  t.is(spec.binds[0]?.src, '/srv');
});

test('env lies over the defaults: a name replaces, null removes, LD_* passes', (t) => {
  const spec = parseSandboxSpec(withArgv({ env: { PATH: '/bin', TERM: null, FOO: 'bar', LD_LIBRARY_PATH: '/opt/lib', EMPTY: '' } }));
  t.is(spec.env['PATH'], '/bin');
  t.false('TERM' in spec.env);
  t.is(spec.env['FOO'], 'bar');
  t.is(spec.env['LD_LIBRARY_PATH'], '/opt/lib');
  t.is(spec.env['EMPTY'], '');
  t.is(spec.env['HOME'], DEFAULT_ENV['HOME']);
});

test('a variable named __proto__ stays a variable and pollutes nothing', (t) => {
  const spec = parseSandboxSpec(JSON.parse('{"argv":["/bin/true"],"env":{"__proto__":"x"}}'));
  t.true(Object.prototype.hasOwnProperty.call(spec.env, '__proto__'));
  t.is(Object.getPrototypeOf(spec.env), Object.prototype);
});

test('a bind gets dst = src, read-only and required by default', (t) => {
  const spec = parseSandboxSpec(bind({ src: '/srv/data' }));
  t.deepEqual(spec.binds, [{ src: '/srv/data', dst: '/srv/data', writable: false, optional: false }]);
});

test('accepts the binds a real user needs', (t) => {
  const binds = [
    { src: '/srv/project', dst: '/home/user/project', writable: true },
    { src: '/srv/project/.cache', dst: '/home/user/project/.cache', writable: true, optional: true },
    { src: '/usr/share/doc', dst: '/docs' },
    { src: '/srv/certs', dst: '/etc/ssl/certs' },
    { src: '/etc', dst: '/host-etc' },
    { src: '/srv/tools', dst: '/usr/local/tools' },
  ];
  t.is(parseSandboxSpec(withArgv({ binds })).binds.length, binds.length);
});

test('argv: later arguments may be empty; an argument of exactly argMaxBytes bytes passes', (t) => {
  t.deepEqual(parseSandboxSpec({ argv: ['/bin/sh', '-c', ''] }).argv, ['/bin/sh', '-c', '']);
  const arg = 'é'.repeat(SPEC_BOUNDS.argMaxBytes / 2);
  t.is(parseSandboxSpec({ argv: ['/bin/echo', arg] }).argv[1], arg);
});

test('paths and hostnames at their bounds pass', (t) => {
  const longest = `/${'a'.repeat(PATH_MAX_BYTES - 1)}`;
  t.is(parseSandboxSpec(withArgv({ cwd: longest })).cwd, longest);
  t.is(parseSandboxSpec(withArgv({ cwd: '/' })).cwd, '/');
  const hostname = `a${'-'.repeat(61)}b`;
  t.is(parseSandboxSpec(withArgv({ hostname })).hostname, hostname);
  t.is(parseSandboxSpec(withArgv({ hostname: '0' })).hostname, '0');
});

test('unset tmpfs sizes shrink to a quarter of a small memory limit', (t) => {
  const { limits } = parseSandboxSpec(withArgv({ limits: { memoryBytes: 32 * MIB } }));
  t.deepEqual([limits.tmpBytes, limits.homeBytes, limits.shmBytes], [8 * MIB, 8 * MIB, 8 * MIB]);
  const smallest = parseSandboxSpec(withArgv({ limits: { memoryBytes: SPEC_BOUNDS.memoryBytes.min } })).limits;
  t.is(smallest.tmpBytes + smallest.homeBytes + smallest.shmBytes + TMPFS_HEADROOM_BYTES, SPEC_BOUNDS.memoryBytes.min);
});

test('tmpfs sizes may reach the memory limit minus the headroom, not one byte more', (t) => {
  const memoryBytes = 64 * MIB;
  const tmpBytes = memoryBytes - TMPFS_HEADROOM_BYTES - 2 * MIB;
  const fits = { memoryBytes, tmpBytes, homeBytes: MIB, shmBytes: MIB };
  t.is(parseSandboxSpec(withArgv({ limits: fits })).limits.tmpBytes, tmpBytes);
  const error = t.throws(() => parseSandboxSpec(withArgv({ limits: { ...fits, tmpBytes: tmpBytes + 1 } })));
  t.true(isSandgateError(error, 'SG_SPEC_INVALID'));
  t.regex(error?.message ?? '', /limits\.tmpBytes \+ limits\.homeBytes \+ limits\.shmBytes .* limits\.memoryBytes/);
});

test('a fractional cpuCores within bounds passes', (t) => {
  t.is(parseSandboxSpec(withArgv({ limits: { cpuCores: 0.5 } })).limits.cpuCores, 0.5);
});
