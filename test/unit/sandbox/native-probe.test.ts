import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';

import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import {
  NAMESPACE_KINDS,
  NATIVE_ADDON_CANDIDATES,
  checkProbeOptions,
  findPackageRoot,
  loadNativeAddon,
  nativeAddon,
  type HostProbe,
} from '../../../server/sandbox/native-addon.js';

// probe() on this machine kind (FIELD-NOTES, "Kernel and cgroups"): root, every namespace,
// every seccomp action, cgroup v1 with memory below /process_api/<id>.

const UNUSED_UIDS = { uidRangeStart: 3_000_000_000, uidRangeCount: 65_536 };

let cached: HostProbe | undefined;
function probe(): HostProbe {
  cached ??= nativeAddon().probe(UNUSED_UIDS);
  return cached;
}

/** controller → path from /proc/self/cgroup (v1 lines only). */
function ownCgroups(): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers = '', cgroupPath = ''] = line.split(':');
    for (const controller of controllers.split(',')) if (controller !== '') paths.set(controller, cgroupPath);
  }
  return paths;
}

function hasCapSysAdmin(): boolean {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  return line !== undefined && ((BigInt(`0x${line.slice(7).trim()}`) >> 21n) & 1n) === 1n;
}

test('probe reports the running kernel', (t) => {
  t.is(probe().kernel, os.release());
});

test('probe finds every namespace kind creatable inside a new user namespace', (t) => {
  const { namespaces } = probe();
  t.deepEqual(Object.keys(namespaces).sort(), [...NAMESPACE_KINDS].sort());
  for (const kind of ['user', 'pid', 'mount', 'net'] as const) {
    t.deepEqual(namespaces[kind], { ok: true }, kind);
  }
});

test('probe loads the default filter and lists the kernel seccomp actions', (t) => {
  const { seccomp } = probe();
  t.true(seccomp.ok, seccomp.error);
  t.is(seccomp.error, undefined);
  t.true(seccomp.actions.includes('kill_process'));
  t.true(seccomp.actions.includes('errno'));
  t.regex(seccomp.libseccomp, /^2\.\d+\.\d+$/);
});

test('probe sees cgroup v1 with memory and pids, each at this process\'s own path', (t) => {
  const { cgroup } = probe();
  t.is(cgroup.version, 1);
  t.true(cgroup.controllers.includes('memory'));
  t.true(cgroup.controllers.includes('pids'));
  const own = ownCgroups();
  for (const controller of ['memory', 'pids', 'cpu', 'cpuacct']) {
    const hierarchy = cgroup.hierarchies.find((h) => h.controllers.includes(controller));
    if (hierarchy === undefined) return t.fail(`no hierarchy for ${controller}`);
    t.is(hierarchy.ownPath, own.get(controller) ?? `(${controller} not in /proc/self/cgroup)`, controller);
    t.true(fs.statSync(path.join(hierarchy.mountPoint, hierarchy.ownPath)).isDirectory(), controller);
    t.true(fs.existsSync(path.join(hierarchy.mountPoint, hierarchy.ownPath, 'cgroup.procs')), controller);
  }
  t.deepEqual(cgroup.controllers, [...cgroup.controllers].sort());
});

test('probe reports root only with euid 0 and CAP_SYS_ADMIN', (t) => {
  t.is(probe().root, process.geteuid?.() === 0 && hasCapSysAdmin());
});

test('probe lists uids of the range that /etc/passwd already names', (t) => {
  const passwdUids = fs.readFileSync('/etc/passwd', 'utf8').split('\n')
    .map((line) => Number(line.split(':')[2]))
    .filter((uid) => Number.isInteger(uid) && uid < 70_000)
    .sort((a, b) => a - b);
  const report = nativeAddon().probe({ uidRangeStart: 0, uidRangeCount: 70_000 }).uidRange;
  t.deepEqual(report, { start: 0, count: 70_000, conflicts: [...new Set(passwdUids)].slice(0, 16) });
  t.deepEqual(probe().uidRange, { start: UNUSED_UIDS.uidRangeStart, count: UNUSED_UIDS.uidRangeCount, conflicts: [] });
});

test('probe refuses bad options with a TypeError on both sides of the boundary', (t) => {
  const bad: unknown[] = [
    undefined, null, [], 'x',
    { uidRangeStart: -1, uidRangeCount: 1 },
    { uidRangeStart: 1.5, uidRangeCount: 1 },
    { uidRangeStart: 100_000, uidRangeCount: 0 },
    { uidRangeStart: 4_294_967_294, uidRangeCount: 2 },
    { uidRangeStart: '100000', uidRangeCount: 10 },
  ];
  const addon = nativeAddon();
  const raw: unknown = loadRawAddon();
  const rawProbe: unknown = typeof raw === 'object' && raw !== null ? Reflect.get(raw, 'probe') : undefined;
  if (typeof rawProbe !== 'function') return t.fail('the raw addon has no probe()');
  for (const options of bad) {
    t.throws(() => checkProbeOptions(options), { instanceOf: TypeError, message: /^probe: / });
    t.throws(() => Reflect.apply(addon.probe, addon, [options]), { instanceOf: TypeError, message: /^probe: / });
    t.throws(() => Reflect.apply(rawProbe, raw, [options]), { instanceOf: TypeError, message: /^probe: / });
  }
});

test('closeOnExec sets FD_CLOEXEC on an open fd, and refuses a bad or closed one on both sides of the boundary', (t) => {
  const addon = nativeAddon();
  const fd = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(fd));
  t.notThrows(() => addon.closeOnExec(fd));
  // /proc/self/fdinfo shows the flags in octal; O_CLOEXEC is 02000000.
  const flags = /flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
  t.true(flags !== undefined && (Number.parseInt(flags, 8) & 0o2000000) !== 0, `fdinfo flags ${flags ?? '?'}`);
  const raw: unknown = loadRawAddon();
  const rawCloseOnExec: unknown = typeof raw === 'object' && raw !== null ? Reflect.get(raw, 'closeOnExec') : undefined;
  if (typeof rawCloseOnExec !== 'function') return t.fail('the raw addon has no closeOnExec()');
  for (const bad of [-1, 1.5, '3', undefined]) {
    t.throws(() => Reflect.apply(addon.closeOnExec, addon, [bad]), { instanceOf: TypeError, message: /^closeOnExec: / });
    t.throws(() => Reflect.apply(rawCloseOnExec, raw, [bad]), { instanceOf: TypeError, message: /^closeOnExec: / });
  }
  // An fd number no process can have open (far above any RLIMIT_NOFILE): EBADF, whatever else runs.
  t.throws(() => addon.closeOnExec(2_147_483_000), { message: /closeOnExec: fcntl\(2147483000\): Bad file descriptor/ });
});

/** The addon's module itself, without the TypeScript checks in front of it. */
function loadRawAddon(): unknown {
  return createRequire(import.meta.url)(path.join(findPackageRoot(), 'build/Release/sandgate_native.node'));
}

test('the loader finds the package root from its own location', (t) => {
  t.true(fs.existsSync(path.join(findPackageRoot(), 'package.json')));
  t.true(fs.existsSync(path.join(findPackageRoot(), 'binding.gyp')));
});

test('the loader fails with SG_NATIVE_LOAD naming every path it tried and why', (t) => {
  const bogusRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sandgate-no-addon-'));
  try {
    const error = t.throws(() => loadNativeAddon(bogusRoot));
    if (!isSandgateError(error, 'SG_NATIVE_LOAD')) return t.fail(`unexpected error ${String(error)}`);
    const expected = NATIVE_ADDON_CANDIDATES.map((candidate) => path.join(bogusRoot, candidate));
    t.deepEqual(error.details['tried'], expected.map((p) => ({ path: p, error: `Cannot find module '${p}'` })));
    for (const p of expected) t.true(error.message.includes(p), p);
    t.is(error.exitCode, 70);
    t.truthy(error.cause);
  } finally {
    fs.rmSync(bogusRoot, { recursive: true, force: true });
  }
});
