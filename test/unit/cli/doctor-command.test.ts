import test from 'ava';

import { doctorChecks, formatChecks, type HostFacts } from '../../../server/cli/doctor-command.js';
import { SandgateError } from '../../../server/errors/sandgate-error.js';
import type { HostProbe } from '../../../server/sandbox/native-addon.js';

const PROBE: HostProbe = {
  kernel: '6.18.0',
  namespaces: { user: { ok: true }, pid: { ok: true }, mount: { ok: true }, net: { ok: true }, uts: { ok: true }, ipc: { ok: true }, cgroup: { ok: true } },
  seccomp: { ok: true, actions: ['kill_process', 'kill_thread', 'trap', 'errno', 'user_notif', 'trace', 'log', 'allow'], libseccomp: '2.5.4' },
  cgroup: { version: 1, controllers: ['cpu', 'cpuacct', 'freezer', 'memory', 'pids'], hierarchies: [] },
  uidRange: { start: 600_000, count: 65_536, conflicts: [] },
  root: true,
};

const FACTS: HostFacts = {
  probe: PROBE,
  binaries: { launcher: '/p/build/Release/sandgate-launcher', init: '/p/build/Release/sandgate-init' },
  layout: {
    version: 1,
    hierarchies: ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'].map((controller) => ({
      controllers: [controller],
      mountPoint: `/sys/fs/cgroup/${controller}`,
      ownPath: '/',
      ownDir: `/sys/fs/cgroup/${controller}`,
    })),
  },
  pty: { max: 4096, nr: 3 },
  tools: { bwrap: '/usr/bin/bwrap', 'redis-server': undefined },
};

function required(facts: HostFacts): string[] {
  return doctorChecks(facts).filter((row) => row.required && row.status === 'MISSING').map((row) => row.name);
}

test('a host like these machines passes every required check; a missing optional tool is only a WARN', (t) => {
  const checks = doctorChecks(FACTS);
  t.deepEqual(required(FACTS), []);
  t.like(checks.find((row) => row.name === 'redis-server (optional)'), { status: 'WARN', required: false });
  t.true(checks.some((row) => row.name === 'cgroup tree memory' && row.detail === '/sys/fs/cgroup/memory/sandgate'));
});

test('each missing prerequisite is a required MISSING row with what to do', (t) => {
  const notBuilt = new SandgateError('SG_NATIVE_LOAD', 'not found');
  t.deepEqual(required({ ...FACTS, binaries: notBuilt }), ['launcher binaries']);
  t.deepEqual(required({ ...FACTS, probe: notBuilt }), ['native addon']);
  t.deepEqual(required({ ...FACTS, probe: { ...PROBE, root: false } }), ['root']);
  t.deepEqual(required({ ...FACTS, probe: { ...PROBE, namespaces: { ...PROBE.namespaces, user: { ok: false, error: 'EPERM' } } } }), ['namespace user']);
  t.deepEqual(required({ ...FACTS, probe: { ...PROBE, seccomp: { ...PROBE.seccomp, actions: ['allow'] } } }), ['seccomp']);
  t.deepEqual(required({ ...FACTS, probe: { ...PROBE, uidRange: { ...PROBE.uidRange, conflicts: [600_001] } } }), ['uid range']);
  t.deepEqual(required({ ...FACTS, layout: new SandgateError('SG_HOST_UNSUPPORTED', 'no memory controller') }), ['cgroups']);
  for (const row of doctorChecks({ ...FACTS, binaries: notBuilt })) t.is(row.fix === undefined, row.status === 'OK', row.name);
});

test('the table puts the fix under a failing row', (t) => {
  const text = formatChecks(doctorChecks({ ...FACTS, probe: { ...PROBE, root: false } }).filter((row) => row.name === 'root'));
  t.regex(text, /^MISSING +root +not root or no CAP_SYS_ADMIN\n +→ run sandgate as root/);
});
