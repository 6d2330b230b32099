import test from 'ava';
import { SgClient } from '../../helpers/gateway-attack-client.js';
import { leftoversOf, openShell, sandboxFootprint, startGatewayUnderTest } from '../../helpers/gateway-under-test.js';
import { waitUntil } from '../support/wait-until.js';

/**
 * Graceful shutdown (docs/operations.md "Shutting down"): drain() refuses new upgrades with
 * 503 SG_SHUTTING_DOWN at once, tells every open session with a shutting-down notice, gives
 * them drainTimeoutMs, then closes them with 1001 — and leaves nothing behind: no sandbox
 * process, no sandbox cgroup of this gateway, no lease.
 */

const DRAIN_MS = 1500;

test('drain: new upgrades get 503 SG_SHUTTING_DOWN, open sessions get the notice, end after the timeout, nothing is left', async (t) => {
  const gw = await startGatewayUnderTest(t, { drainTimeoutMs: DRAIN_MS, resumeGraceMs: 30_000 });
  const users = ['alice', 'bob', 'carol'];
  const clients = await Promise.all(users.map(async (user) => openShell(gw, await gw.token({ user }))));
  // A fourth session is dropped before the drain and waits for a resume: it must end too.
  const detached = await openShell(gw, await gw.token({ user: 'dave' }));
  detached.terminate();
  await detached.waitClosed();
  const footprint = await sandboxFootprint(gw);
  t.true(footprint.processes.length >= 4, `sandbox processes seen while running: ${footprint.processes.length}`);
  t.true(footprint.cgroups.length >= 4, `sandbox cgroups seen while running: ${footprint.cgroups.length}`);

  const startedAt = performance.now();
  const drained = gw.drain();

  const refused = await SgClient.upgrade(gw.sessionsUrl, { token: await gw.token({ user: 'erin' }) });
  t.false(refused.ok, 'no upgrade while draining');
  if (!refused.ok) {
    t.is(refused.refusal.status, 503);
    t.is(refused.refusal.code, 'SG_SHUTTING_DOWN');
    t.regex(String(refused.refusal.headers['retry-after']), /^\d+$/);
  }
  t.is(await gw.readyzStatus(), 503, '/readyz says not ready while draining');

  for (const client of clients) {
    const notice = await client.notice('shutting-down', 5000);
    t.true(notice.graceMs > 0 && notice.graceMs <= DRAIN_MS, `graceMs ${notice.graceMs}`);
  }
  // The sessions still work during the grace period.
  const [first] = clients;
  if (first === undefined) throw new Error('no client');
  first.write('echo during-drain-$((2+3))\r');
  await first.waitOutput(/[\r\n]during-drain-5/);

  const closes = await Promise.all(clients.map((c) => c.waitClosed(DRAIN_MS + 10_000)));
  const elapsed = performance.now() - startedAt;
  for (const close of closes) t.is(close.code, 1001, `closed ${close.code} ${close.reason}`);
  t.true(elapsed >= DRAIN_MS * 0.9, `sessions were closed after ${elapsed.toFixed(0)} ms, not before the drain timeout`);
  for (const client of clients) {
    const exit = client.controls.find((f) => f.type === 'exit');
    if (exit !== undefined && exit.type === 'exit') t.is(exit.reason, 'shutdown');
    t.deepEqual(client.offsetProblems, []);
  }
  await drained;

  // Nothing left: processes and cgroups end asynchronously after the close, so poll (bounded).
  const left = await waitUntil('every sandbox of the gateway to be gone', async () => {
    const now = await leftoversOf(gw, footprint);
    return now.processes.length === 0 && now.cgroups.length === 0 ? { done: true, value: now } : { done: false, state: JSON.stringify(now) };
  }, { timeoutMs: 15_000, intervalMs: 50 });
  t.deepEqual(left.processes, []);
  t.deepEqual(left.cgroups, []);
  for (const user of [...users, 'dave']) t.deepEqual(await gw.counts({ tenant: 'acme', user }), { tenant: 0, user: 0 }, `no lease left for ${user}`);
});

test('drain finishes early when every session has ended by itself', async (t) => {
  const gw = await startGatewayUnderTest(t, { drainTimeoutMs: 60_000 });
  const client = await openShell(gw, await gw.token());
  const startedAt = performance.now();
  const drained = gw.drain();
  await client.notice('shutting-down');
  client.write('exit 0\r');
  const exit = await client.exit();
  t.is(exit.code, 0);
  await drained;
  t.true(performance.now() - startedAt < 30_000, 'the drain did not wait for its whole timeout');
});
