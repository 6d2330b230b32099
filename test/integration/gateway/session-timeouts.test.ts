/**
 * The clocks of a session end to end (server/session/session-timers.ts, session-host.ts):
 * a session ends at its lifetime (`maxSessionLifetimeMs`, or a tenant's shorter
 * `limits.timeLimitMs`) with exit reason `time-limit`, leaving no process, cgroup or lease
 * behind; a connection that sends no first frame within `openTimeoutMs` is refused with
 * SG_PROTO_OPEN_TIMEOUT and its close code (docs/protocol.md, "Errors and closes").
 * The idle timeout has its tests in session-basics.test.ts and tenancy.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';

import { ERROR_CODES } from '../../../client-sdk/src/errors/error-codes.js';
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness.js';
import { cgroupHierarchiesOf } from '../support/cgroup-cell.js';
import { childrenOf, descendantsOf, identify, isAlive, sandboxProcessRunning, type ProcessIdentity } from '../support/host-processes.js';
import { waitUntil, within } from '../support/wait-until.js';

/** Waits until every session of the gateway is gone, then checks that `who` holds no lease. */
async function released(t: ExecutionContext, gw: GatewayHarness, who = { tenant: 'acme', user: 'alice' }): Promise<void> {
  await within('every session released', 15_000, gw.host.idle());
  t.deepEqual(await gw.store.counts(who), { tenant: 0, user: 0 }, `no lease of ${who.tenant}/${who.user} is left`);
}

/** A sandbox as the host sees it: its sandgate cgroup directories and its host processes. */
interface Footprint {
  readonly processes: readonly ProcessIdentity[];
  readonly cgroups: readonly string[];
}

/**
 * The sandbox `member` runs in: each hierarchy's `…/sandgate/sb-…` directory, the processes in
 * it and below, and the host process tree (the launcher) that holds `member`, from the child
 * of this process (the gateway runs here) down.
 */
function footprintOf(member: ProcessIdentity): Footprint {
  const cgroups = [...new Set(cgroupHierarchiesOf(member.pid).map((h) => /^(.*\/sandgate\/sb-[^/]+)/.exec(h.dir)?.[1]).filter((dir): dir is string => dir !== undefined))];
  const pids = new Set<number>([member.pid]);
  const collect = (dir: string): void => {
    for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line !== '') pids.add(Number(line));
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) collect(path.join(dir, entry.name));
  };
  for (const dir of cgroups) collect(dir);
  for (const child of childrenOf(process.pid)) {
    const tree = [child, ...descendantsOf(child)];
    if (tree.includes(member.pid)) for (const pid of tree) pids.add(pid);
  }
  const processes = [...pids].map((pid) => identify(pid)).filter((id): id is ProcessIdentity => id !== undefined);
  return { processes, cgroups };
}

/** What is left of `before`: processes still alive, cgroup directories still there. */
function leftoversOf(before: Footprint): Footprint {
  return { processes: before.processes.filter((id) => isAlive(id)), cgroups: before.cgroups.filter((dir) => fs.existsSync(dir)) };
}

test('a session ends at maxSessionLifetimeMs with exit reason time-limit, then close 1000; nothing of its sandbox is left', async (t) => {
  const lifetimeMs = 2000;
  const gw = await startGatewayHarness(t, { config: { maxSessionLifetimeMs: lifetimeMs } });
  const client = await gw.connect();
  const openedAt = performance.now();
  await client.open({ kind: 'exec', argv: ['sleep', '600'] });
  const sleeper = await sandboxProcessRunning(['sleep', '600']);
  const before = footprintOf(sleeper);
  t.true(before.cgroups.length > 0, 'the sandbox has its cgroup');
  t.true(before.processes.length >= 2, 'the footprint holds the launcher and the command');

  const exit = await client.waitForExit();
  // The lifetime starts when the gateway has the open frame, after it was sent (less 1 ms:
  // libuv's timer clock is in whole milliseconds).
  const livedMs = performance.now() - openedAt;
  t.like(exit, { reason: 'time-limit', outputOffset: client.receivedOffset });
  t.true(livedMs >= lifetimeMs - 1, `ended ${livedMs.toFixed(0)} ms after the open, not before ${lifetimeMs} ms`);
  t.is((await client.waitForClose()).code, 1000);
  t.deepEqual(client.violations, [], 'every frame from the gateway keeps the protocol rules');
  await released(t, gw);
  t.deepEqual(leftoversOf(before), { processes: [], cgroups: [] }, 'no process or cgroup of the sandbox is left');
});

test('a tenant\'s limits.timeLimitMs ends its pty sessions with reason time-limit, while another tenant\'s session goes on', async (t) => {
  const gw = await startGatewayHarness(t, { config: { tenants: { trial: { limits: { timeLimitMs: 2000 } } } } });
  const other = await gw.connect();
  await other.open({ kind: 'exec', argv: ['cat'] });
  const trial = await gw.connect({ token: gw.token({ tenant: 'trial', user: 'tess' }) });
  await trial.open({ kind: 'pty', argv: ['sleep', '601'], cols: 80, rows: 24 });
  const sleeper = await sandboxProcessRunning(['sleep', '601']);
  const before = footprintOf(sleeper);

  t.like(await trial.waitForExit(), { reason: 'time-limit' });
  t.is((await trial.waitForClose()).code, 1000);
  // acme has no time limit: its session outlived trial's and still answers.
  other.write('still here\n');
  await other.waitForOutput(/still here\n/, { channel: 'stdout' });
  other.closeStdin();
  t.like(await other.waitForExit(), { code: 0, reason: 'exited' });
  for (const client of [trial, other]) t.deepEqual(client.violations, []);
  await released(t, gw, { tenant: 'trial', user: 'tess' });
  t.deepEqual(await gw.store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 0, user: 0 });
  t.deepEqual(leftoversOf(before), { processes: [], cgroups: [] }, 'no process or cgroup of the sandbox is left');
});

test('a connection that sends no first frame within openTimeoutMs gets SG_PROTO_OPEN_TIMEOUT and its close code; a punctual one is not affected', async (t) => {
  const openTimeoutMs = 500;
  const gw = await startGatewayHarness(t, { config: { openTimeoutMs } });
  const connectingAt = performance.now();
  const silent = await gw.connect();
  const punctual = await gw.connect({ token: gw.token({ user: 'bob' }) });
  await punctual.open({ kind: 'exec', argv: ['cat'] });

  const error = await silent.waitForFrame('error');
  // The timer starts at the upgrade, after connectingAt (less 1 ms: libuv's timer clock is in whole milliseconds).
  const waitedMs = performance.now() - connectingAt;
  t.like(error, { code: 'SG_PROTO_OPEN_TIMEOUT', fatal: true });
  const close = await silent.waitForClose();
  t.is(close.code, ERROR_CODES.SG_PROTO_OPEN_TIMEOUT.wsCloseCode);
  t.is(close.errorCode, 'SG_PROTO_OPEN_TIMEOUT');
  t.true(waitedMs >= openTimeoutMs - 1, `refused ${waitedMs.toFixed(0)} ms after the upgrade began, not before ${openTimeoutMs} ms`);
  t.deepEqual(silent.frames.map((frame) => frame.type), ['error'], 'nothing but the error was sent');
  t.deepEqual(silent.violations, []);
  await waitUntil('the silent connection\'s lease to be given back', async () => {
    const counts = await gw.store.counts({ tenant: 'acme', user: 'alice' });
    return counts.user === 0 ? { done: true, value: counts } : { done: false, state: JSON.stringify(counts) };
  }, { timeoutMs: 10_000 });

  // The session opened in time outlived the other connection's deadline.
  punctual.write('still here\n');
  await punctual.waitForOutput(/still here\n/, { channel: 'stdout' });
  punctual.closeStdin();
  t.like(await punctual.waitForExit(), { code: 0, reason: 'exited' });
  t.deepEqual(punctual.violations, []);
  await released(t, gw, { tenant: 'acme', user: 'bob' });
});

test('a minute (or a tenth of a shorter lifetime) before its time limit, the session gets a quota-warning for wall-time', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionLifetimeMs: 3000 } });
  const client = await gw.connect({ token: gw.token() });
  // Its own argument: the tests of this file run at once, and the footprint tests find their sandbox by its argv.
  await client.open({ kind: 'exec', argv: ['sleep', '602'] });
  const warning = await client.waitForFrame('notice', (frame) => frame.kind === 'quota-warning');
  t.like(warning, { kind: 'quota-warning', resource: 'wall-time', used: 2700, limit: 3000 });
  t.is(client.frames.filter((frame) => frame.type === 'exit').length, 0, 'the warning comes before the end');
  const exit = await client.waitForExit();
  t.is(exit.reason, 'time-limit');
  await released(t, gw);
});
