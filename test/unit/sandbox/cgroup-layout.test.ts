import test from 'ava';

import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import {
  newSandboxCgroupName,
  parseSandboxCgroupName,
  resolveCgroupLayout,
} from '../../../server/sandbox/cgroup/cgroup-layout.js';

// What these machines show (FIELD-NOTES): v1 controllers on separate mounts, memory below /process_api.
const HOST_CGROUP = [
  '9:name=systemd:/',
  '8:pids:/',
  '6:freezer:/',
  '4:memory:/process_api/d750e5b7',
  '2:cpuacct:/',
  '1:cpu:/',
  '0::/',
].join('\n');
const HOST_MOUNTINFO = [
  '23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

test('v1 with one mount per controller: own directories under each mount, memory below /process_api', (t) => {
  const layout = resolveCgroupLayout({ procCgroup: HOST_CGROUP, mountinfo: HOST_MOUNTINFO, v2Controllers: [] });
  t.is(layout.version, 1);
  t.deepEqual(
    layout.hierarchies.map((hierarchy) => [hierarchy.controllers.join(','), hierarchy.ownDir]),
    [
      ['pids', '/sys/fs/cgroup/pids'],
      ['freezer', '/sys/fs/cgroup/freezer'],
      ['memory', '/sys/fs/cgroup/memory/process_api/d750e5b7'],
      ['cpuacct', '/sys/fs/cgroup/cpuacct'],
      ['cpu', '/sys/fs/cgroup/cpu'],
    ],
  );
});

test('v1 with cpu,cpuacct co-mounted and a container mount root: one hierarchy, path below the mount root', (t) => {
  const layout = resolveCgroupLayout({
    procCgroup: '5:memory:/kubepods/pod1/c1\n3:cpu,cpuacct:/kubepods/pod1/c1\n2:pids:/kubepods/pod1/c1\n0::/',
    mountinfo: [
      '50 40 0:30 /kubepods/pod1/c1 /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct',
      '51 40 0:31 /kubepods/pod1/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '52 40 0:32 /kubepods/pod1/c1 /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
    ].join('\n'),
    v2Controllers: undefined,
  });
  t.deepEqual(
    layout.hierarchies.map((hierarchy) => [hierarchy.controllers.join(','), hierarchy.ownDir]),
    [
      ['memory', '/sys/fs/cgroup/memory'],
      ['cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct'],
      ['pids', '/sys/fs/cgroup/pids'],
    ],
  );
});

test('v2 when the own cgroup2 directory offers memory, pids and cpu (mount points with escaped spaces)', (t) => {
  const layout = resolveCgroupLayout({
    procCgroup: '0::/system.slice/sandgate.service',
    mountinfo: '30 1 0:26 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw,nsdelegate',
    v2Controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
  });
  t.deepEqual(layout, {
    version: 2,
    hierarchies: [
      {
        controllers: ['memory', 'pids', 'cpu'],
        mountPoint: '/sys/fs/my cgroup',
        ownPath: '/system.slice/sandgate.service',
        ownDir: '/sys/fs/my cgroup/system.slice/sandgate.service',
      },
    ],
  });
});

test('a host with neither usable v2 nor the v1 controllers is SG_HOST_UNSUPPORTED naming what is missing', (t) => {
  const error = t.throws(() =>
    resolveCgroupLayout({ procCgroup: '1:cpu:/\n0::/', mountinfo: HOST_MOUNTINFO, v2Controllers: ['cpu'] }),
  );
  t.true(isSandgateError(error, 'SG_HOST_UNSUPPORTED'));
  t.deepEqual(isSandgateError(error) ? error.details['v1Missing'] : undefined, ['memory', 'pids', 'cpuacct']);
});

test('sandbox cgroup names carry their owner; anything else is not ours', (t) => {
  const name = newSandboxCgroupName({ pid: 4242, startTicks: '987654' });
  t.regex(name, /^sb-[0-9a-f]{16}-4242-987654$/);
  t.deepEqual(parseSandboxCgroupName(name)?.owner, { pid: 4242, startTicks: '987654' });
  for (const other of ['sb-1234', 'sandgate-gateway', `sb-${'A'.repeat(16)}-1-1`, `sb-${'0'.repeat(16)}-0-1`, `sb-${'0'.repeat(16)}-1-1/..`]) {
    t.is(parseSandboxCgroupName(other), undefined, other);
  }
});
