import test from 'ava';
import { SgClient } from '../../helpers/gateway-attack-client.js';
import { openSession, openShell, startGatewayUnderTest } from '../../helpers/gateway-under-test.js';
import { waitUntil } from '../support/wait-until.js';

/**
 * Per-tenant and per-user limits, end to end (docs/operations.md "What the gateway refuses"):
 * sessions over a cap are refused before the upgrade with 429 and the code, a freed slot is
 * usable again once its session has ended, an idle session ends by itself, and a frame over
 * the size limits is refused with its typed close.
 */

test('a user over maxSessionsPerUser is refused with 429 SG_USER_QUOTA; the slot frees when a session ends', async (t) => {
  const gw = await startGatewayUnderTest(t, { maxSessionsPerUser: 2, maxSessionsPerTenant: 3 });
  const token = await gw.token({ user: 'alice' });
  const first = await openShell(gw, token);
  const second = await openShell(gw, token);
  const third = await SgClient.upgrade(gw.sessionsUrl, { token });
  t.false(third.ok);
  if (!third.ok) {
    t.is(third.refusal.status, 429);
    t.is(third.refusal.code, 'SG_USER_QUOTA');
    t.regex(String(third.refusal.headers['retry-after']), /^\d+$/);
  }
  // Another user of the tenant still fits (tenant cap 3), a fourth session of the tenant does not.
  const bob = await openShell(gw, await gw.token({ user: 'bob' }));
  const fourth = await SgClient.upgrade(gw.sessionsUrl, { token: await gw.token({ user: 'carol' }) });
  t.false(fourth.ok);
  if (!fourth.ok) {
    t.is(fourth.refusal.status, 429);
    t.is(fourth.refusal.code, 'SG_TENANT_QUOTA');
  }
  // Another tenant is not affected by acme's count.
  const other = await openShell(gw, await gw.token({ tenant: 'globex', user: 'alice' }));

  // alice ends one session; her lease is released and a new one is admitted.
  first.write('exit\r');
  t.is((await first.exit()).code, 0);
  await waitUntil('alice\'s lease to be released', async () => {
    const counts = await gw.counts({ tenant: 'acme', user: 'alice' });
    return counts.user === 1 ? { done: true, value: counts } : { done: false, state: JSON.stringify(counts) };
  }, { timeoutMs: 10_000 });
  const again = await openShell(gw, token);
  t.is((await again.hello()).resumed, false);
  for (const client of [second, bob, other, again]) client.terminate();
});

test('a token\'s limits.sessions lowers the user cap', async (t) => {
  const gw = await startGatewayUnderTest(t, { maxSessionsPerUser: 5 });
  const token = await gw.token({ user: 'trial', limits: { sessions: 1 } });
  const one = await openShell(gw, token);
  const two = await SgClient.upgrade(gw.sessionsUrl, { token });
  t.false(two.ok);
  if (!two.ok) t.is(two.refusal.code, 'SG_USER_QUOTA');
  one.terminate();
});

test('an idle session ends with exit reason idle-timeout after idleTimeoutMs, then close 1000', async (t) => {
  const gw = await startGatewayUnderTest(t, { idleTimeoutMs: 1500 });
  const client = await openShell(gw, await gw.token());
  t.is((await client.hello()).limits.idleTimeoutMs, 1500);
  const idleFrom = performance.now();
  const exit = await client.exit(15_000);
  const idleMs = performance.now() - idleFrom;
  t.is(exit.reason, 'idle-timeout');
  t.true(idleMs >= 1500 * 0.9, `ended after ${idleMs.toFixed(0)} ms idle`);
  t.true(idleMs < 1500 + 5000, `ended after ${idleMs.toFixed(0)} ms idle`);
  t.is((await client.waitClosed()).code, 1000);
});

test('activity keeps a session alive past idleTimeoutMs', async (t) => {
  const gw = await startGatewayUnderTest(t, { idleTimeoutMs: 1500 });
  const client = await openShell(gw, await gw.token());
  const startedAt = performance.now();
  // Typing every ~500 ms (paced by the echo of the previous command plus a short sleep in the shell) for 4 s.
  for (let i = 0; performance.now() - startedAt < 4000 && i < 100; i += 1) {
    client.write(`sleep 0.4; echo tick-$((${i}+100))\r`);
    await client.waitOutput(new RegExp(`[\\r\\n]tick-${i + 100}\\r\\n`), 5000);
  }
  t.false(client.controls.some((f) => f.type === 'exit'), 'still alive after 4 s of activity');
  t.is(client.closeInfo, undefined);
  client.terminate();
});

test('a frame over the size limits: a control frame within maxPayload gets a typed SG_PROTO_TOO_LARGE, a larger one ws\'s 1009', async (t) => {
  const gw = await startGatewayUnderTest(t, { maxControlFrameBytes: 2048, maxDataFrameBytes: 8192, outputWindowBytes: 65536 });
  const client = await openShell(gw, await gw.token());
  client.sendRaw(JSON.stringify({ type: 'resize', cols: 80, rows: 24, pad: 'x'.repeat(4000) }), false);
  const error = await client.error();
  t.is(error.code, 'SG_PROTO_TOO_LARGE');
  t.true(error.fatal);
  const close = await client.waitClosed();
  t.is(close.code, 1009);
  t.is(close.errorCode, 'SG_PROTO_TOO_LARGE');

  const big = await openShell(gw, await gw.token({ user: 'bob' }));
  big.sendRaw(Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(9000, 0x61)]), true);
  const bigClose = await big.waitClosed();
  t.is(bigClose.code, 1009);
  t.is(bigClose.errorCode, 'SG_PROTO_TOO_LARGE');
});

test('a session refused right after its hello gives its lease back at once, not after the runner\'s kill grace', async (t) => {
  // A client that opens and then breaks the protocol at once must not hold a slot of its
  // user's quota (nor a sandbox) for SandboxRunner's killGraceMs (2 s): with resumeGraceMs 0
  // nothing keeps the session, so the lease should be back within a few hundred ms.
  const gw = await startGatewayUnderTest(t, { resumeGraceMs: 0 });
  const token = await gw.token();
  const releaseMs: number[] = [];
  for (let run = 0; run < 10; run += 1) {
    const client = await openSession(gw, token, { type: 'open', kind: 'pty', argv: ['cat'], cols: 80, rows: 24 });
    client.sendRaw('not a frame', false);
    t.is((await client.waitClosed()).errorCode, 'SG_PROTO_MALFORMED');
    const closedAt = performance.now();
    await waitUntil('the lease to be released', async () => {
      const counts = await gw.counts({ tenant: 'acme', user: 'alice' });
      return counts.user === 0 ? { done: true, value: counts } : { done: false, state: JSON.stringify(counts) };
    }, { timeoutMs: 10_000, intervalMs: 5 });
    releaseMs.push(Math.round(performance.now() - closedAt));
  }
  t.log(`lease released ${releaseMs.join(', ')} ms after the close`);
  t.deepEqual(releaseMs.filter((ms) => ms > 1000), [], 'every lease is back within 1 s');
});
