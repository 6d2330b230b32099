/**
 * SECURITY.md class D — network and IPC. The test process plays the host: it listens on
 * loopback, on an abstract and a path unix socket, holds SysV and POSIX IPC objects and a
 * /dev/shm file, and shows that a sandbox reaches none of them (and that the listeners saw
 * nothing). Two sandboxes at once see nothing of each other.
 */
import fs from 'node:fs';
import os from 'node:os';

import test from 'ava';

import { holdHostIpc } from './helpers/host-ipc.js';
import { listenTcp, listenUnix, type HostListener } from './helpers/host-listeners.js';
import { SG_PROBE } from './helpers/probe-binaries.js';
import { allOf, assertHeld, describeRun, parseProbeLine } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test, { extras: ['sg-host-ipc'] });

/** Exit code of the CLI when the spec asks for something never allowed (SG_SPEC_FORBIDDEN). */
const SPEC_FORBIDDEN_EXIT = 65;
/** Any port: each sandbox has its own network namespace. */
const SANDBOX_PORT = '4242';

async function listening(listener: Promise<HostListener>): Promise<HostListener> {
  const ready = await listener;
  suite.onCleanup(() => ready.close());
  return ready;
}

/** The host's first non-internal IPv4 address (the "LAN" side of this machine). */
function hostAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;
}

/** The IPv4 default gateway from /proc/net/route (little-endian hex), if any. */
function defaultGateway(): string | undefined {
  const route = fs.readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((row) => row.trim().split(/\s+/));
  const hex = route.find((fields) => fields[1] === '00000000' && fields[2] !== '00000000')?.[2];
  if (hex === undefined) return undefined;
  return [3, 2, 1, 0].map((byte) => parseInt(hex.slice(byte * 2, byte * 2 + 2), 16)).reverse().join('.');
}

test('only lo exists (if_nameindex, /proc/net/dev); the host\'s listener is not in /proc/net/tcp', async (t) => {
  const host = await listening(listenTcp('127.0.0.1'));
  const run = await suite.probe('net-ifaces', [String(host.port)]);
  assertHeld(t, run, 'net-ifaces', { interfaces: 'lo', proc_net_dev_interfaces: '1' });
});

test('`ip -o link` lists lo only', async (t) => {
  const run = await suite.run(['/usr/sbin/ip', '-o', 'link']);
  t.is(run.exitCode, 0, describeRun(run));
  const links = run.stdout.trim().split('\n').map((row) => row.split(':')[1]?.trim());
  t.deepEqual(links, ['lo'], run.stdout);
});

test('host loopback services, the host address, the LAN gateway and cloud metadata are unreachable', async (t) => {
  const v4 = await listening(listenTcp('127.0.0.1'));
  const v6 = await listening(listenTcp('::1'));
  const any = await listening(listenTcp('0.0.0.0'));
  const address = hostAddress();
  const gateway = defaultGateway();
  const unreachable = [
    ...(address === undefined ? [] : [`tcp:${address}:${any.port}`]),
    ...(gateway === undefined ? [] : [`tcp:${gateway}:80`]),
    'tcp:169.254.169.254:80',
    'tcp:10.0.0.1:6379',
  ];
  const run = await suite.probe('connect', [`tcp:127.0.0.1:${v4.port}`, `tcp6:::1:${v6.port}`, `tcp:127.0.0.1:${any.port}`, ...unreachable]);
  // ECONNREFUSED: the sandbox's own loopback has no listener; ENETUNREACH: no route at all.
  assertHeld(t, run, 'connect', {
    [`tcp:127.0.0.1:${v4.port}`]: 'ECONNREFUSED',
    [`tcp6:::1:${v6.port}`]: 'ECONNREFUSED',
    [`tcp:127.0.0.1:${any.port}`]: 'ECONNREFUSED',
    ...allOf(unreachable, 'ENETUNREACH'),
  });
  t.is(v4.accepted() + v6.accepted() + any.accepted(), 0, 'no connection reached the host listeners');
});

test('host-wide netlink feeds are closed: no process events from the connector, audit refuses', async (t) => {
  const run = await suite.probe('netlink');
  assertHeld(t, run, 'netlink', { proc_events: '0', audit_get: ['ECONNREFUSED', 'EPERM'] });
});

test('host unix sockets are unreachable: abstract (ECONNREFUSED) and by path (ENOENT)', async (t) => {
  const name = suite.marker('abstract');
  const abstract = await listening(listenUnix(`\0${name}`));
  const socketPath = suite.workPath('host.sock');
  const byPath = await listening(listenUnix(socketPath));
  const run = await suite.probe('connect', [`abstract:${name}`, `unix:${socketPath}`]);
  assertHeld(t, run, 'connect', { [`abstract:${name}`]: 'ECONNREFUSED', [`unix:${socketPath}`]: 'ENOENT' });
  t.is(abstract.accepted() + byPath.accepted(), 0, 'no connection reached the host sockets');
});

test('binding the host\'s /run or /var/run (daemon sockets) is refused before any sandbox starts', async (t) => {
  for (const source of ['/run', '/var/run']) {
    const run = await suite.probe('fd-leak', [], { roBinds: [`${source}:/hostrun`] });
    t.is(run.exitCode, SPEC_FORBIDDEN_EXIT, describeRun(run));
    t.is(parseProbeLine(run.stdout, 'fd-leak'), undefined, 'the probe never ran');
  }
});

test('the host\'s SysV shm, message queue and semaphores are invisible, by key and by id', async (t) => {
  const ipc = await holdHostIpc(suite.binaries.hostIpc);
  suite.onCleanup(() => ipc.release());
  const run = await suite.probe('sysv-ipc', [String(ipc.key), String(ipc.shmId), String(ipc.msgId), String(ipc.semId)]);
  assertHeld(t, run, 'sysv-ipc', {
    ...allOf(['shmget_key', 'msgget_key', 'semget_key'], 'ENOENT'),
    ...allOf(['shmctl_id', 'shmat_id', 'msgctl_id', 'semctl_id'], 'EINVAL'),
    ...allOf(['/proc/sysvipc/shm', '/proc/sysvipc/msg', '/proc/sysvipc/sem'], '0'),
  });
  const ipcs = await suite.run(['/usr/bin/ipcs']);
  const hexKey = `0x${ipc.key.toString(16).padStart(8, '0')}`;
  t.is(ipcs.exitCode, 0, describeRun(ipcs));
  t.false(ipcs.stdout.includes(hexKey), `ipcs inside shows the host key ${hexKey}: ${ipcs.stdout}`);
});

test('the host\'s POSIX message queue is invisible (ENOENT)', async (t) => {
  const ipc = await holdHostIpc(suite.binaries.hostIpc);
  suite.onCleanup(() => ipc.release());
  const run = await suite.probe('posix-mq', [ipc.mqName]);
  assertHeld(t, run, 'posix-mq', { mq_open: 'ENOENT' });
});

test('the host\'s /dev/shm is invisible, and what the sandbox puts in its own never reaches the host', async (t) => {
  const name = suite.marker('shm');
  const hostFile = `/dev/shm/${name}`;
  fs.writeFileSync(hostFile, 'host shm\n');
  suite.onCleanup(() => fs.rmSync(hostFile, { force: true }));
  const run = await suite.probe('dev-shm', [name]);
  const line = assertHeld(t, run, 'dev-shm', { host_file: 'ENOENT', own: `/dev/shm/${name}-inside` });
  t.false(fs.existsSync(line.fields.get('own') ?? ''), 'the sandbox\'s /dev/shm file is not on the host');
});

test('two sandboxes at once see nothing of each other and run as distinct host uids', async (t) => {
  const marker = suite.marker('pair');
  const holder = suite.startProbe('hold', [marker, SANDBOX_PORT]);
  await holder.waitForStdout(/^READY hold /m, 20_000);
  const peek = await suite.probe('peek', [marker, SANDBOX_PORT]);
  assertHeld(t, peek, 'peek', {
    ...allOf(['/tmp', '/home/user', '/dev/shm', 'shmget', 'mq_open'], 'ENOENT'),
    abstract: 'ECONNREFUSED',
    tcp: 'ECONNREFUSED',
  });
  holder.endStdin();
  const held = await holder.result;
  assertHeld(t, held, 'hold', {});
  t.truthy(held.report?.hostUid);
  t.not(held.report?.hostUid, peek.report?.hostUid, 'each concurrent sandbox leases its own host uid');
});

test('positive control: peek does see what hold made when both run in one sandbox', async (t) => {
  const marker = suite.marker('same');
  const script = `mkfifo /tmp/gate; ${SG_PROBE} hold ${marker} ${SANDBOX_PORT} < /tmp/gate | { exec 3>/tmp/gate; read ready; ${SG_PROBE} peek ${marker} ${SANDBOX_PORT}; exec 3>&-; cat >/dev/null; }`;
  const run = await suite.run(['/bin/sh', '-c', script]);
  const line = parseProbeLine(run.stdout, 'peek');
  t.is(line?.verdict, 'BREACH', describeRun(run));
  for (const key of ['/tmp', '/home/user', '/dev/shm', 'shmget', 'mq_open', 'abstract', 'tcp']) t.is(line?.fields.get(key), 'OK', `${key}: ${line?.text}`);
});
