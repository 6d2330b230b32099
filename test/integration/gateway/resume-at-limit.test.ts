import test from 'ava';
import { RESUME_SUBPROTOCOL, SUBPROTOCOL } from '../../../client-sdk/src/protocol/index.js';
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness.js';
import { PROMPT, PROMPT_RE, SgClient } from '../../helpers/gateway-attack-client.js';
import { descendantsOf } from '../support/host-processes.js';

/**
 * Resuming at the session limit (docs/protocol.md "Resume", docs/operations.md "What the
 * gateway refuses"). Admission runs before the first frame can be read, so a reconnection
 * says it will resume by offering the `sandgate.resume` subprotocol entry: it is then not
 * counted as a new session (no lease), still refused by the connection caps, never echoed,
 * and on it the gateway accepts only a valid `resume` — an `open` or a failed resume is
 * refused with SG_USER_QUOTA before any sandbox exists, so the hint never opens a session.
 */

const HINTED = [SUBPROTOCOL, RESUME_SUBPROTOCOL];

/** A bash on a PTY at its prompt, through the real gateway. */
async function openShell(gw: GatewayHarness, token: string): Promise<SgClient> {
  const client = await SgClient.connect(gw.sessionsUrl, { token });
  client.send({ type: 'open', kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 80, rows: 24, env: { PS1: PROMPT, TERM: 'dumb' } });
  await client.hello();
  await client.waitOutput(PROMPT_RE);
  return client;
}

/**
 * Sandbox processes are descendants of the gateway, which runs in this worker process (the
 * tests of this file run serially, so no other test's sandboxes are counted).
 */
function sandboxProcesses(): number {
  return descendantsOf(process.pid).length;
}

test.serial('at maxSessionsPerUser, a dropped session is resumed on a connection that offers sandgate.resume', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionsPerUser: 2, resumeGraceMs: 30_000 } });
  const token = gw.token({ user: 'alice' });
  const kept = await openShell(gw, token);
  const dropped = await openShell(gw, token);
  const hello = await dropped.hello();
  dropped.write('echo before-$((40+2))\r');
  await dropped.waitOutput(/before-42\r\n/);
  dropped.terminate();
  await dropped.waitClosed();
  const offset = dropped.received;

  // Without the hint the reconnection is a new session: refused before the upgrade.
  const plain = await SgClient.upgrade(gw.sessionsUrl, { token });
  t.false(plain.ok);
  if (!plain.ok) t.like(plain.refusal, { status: 429, code: 'SG_USER_QUOTA' });

  const hinted = await SgClient.upgrade(gw.sessionsUrl, { token, protocols: HINTED });
  if (!hinted.ok) return t.fail(`the hinted upgrade was refused: ${hinted.refusal.status} ${hinted.refusal.body}`);
  const client = hinted.client;
  t.is(client.ws.protocol, SUBPROTOCOL, 'the server selects the version only; the hint is never echoed');
  client.send({ type: 'resume', sessionId: hello.sessionId, resumeToken: hello.resumeToken, outputOffset: offset });
  const resumed = await client.hello();
  t.like(resumed, { resumed: true, sessionId: hello.sessionId, outputOffset: offset });
  client.write('echo after-$((40+3))\r');
  await client.waitOutput(/after-43\r\n/);
  t.deepEqual(client.offsetProblems, []);
  t.deepEqual(await gw.store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 2, user: 2 }, 'the resume took no second lease');
  t.is(gw.host.sessionCount, 2);
  client.write('exit\r');
  t.is((await client.exit()).code, 0);
  kept.terminate();
});

test.serial('a hinted connection that sends open is refused with SG_USER_QUOTA and starts no sandbox', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionsPerUser: 1 } });
  const token = gw.token({ user: 'alice' });
  const first = await openShell(gw, token);
  const processes = sandboxProcesses();

  const hinted = await SgClient.upgrade(gw.sessionsUrl, { token, protocols: HINTED });
  if (!hinted.ok) return t.fail(`the hinted upgrade was refused: ${hinted.refusal.status} ${hinted.refusal.body}`);
  hinted.client.send({ type: 'open', kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 80, rows: 24 });
  const error = await hinted.client.error();
  t.like(error, { code: 'SG_USER_QUOTA', fatal: true });
  t.like(await hinted.client.waitClosed(), { code: 4429, errorCode: 'SG_USER_QUOTA' });
  t.false(hinted.client.controls.some((f) => f.type === 'hello'));

  // An open from a user well below the cap is refused all the same: the hint never opens.
  const bob = await SgClient.upgrade(gw.sessionsUrl, { token: gw.token({ user: 'bob' }), protocols: HINTED });
  if (!bob.ok) return t.fail(`bob's hinted upgrade was refused: ${bob.refusal.status}`);
  bob.client.send({ type: 'open', kind: 'exec', argv: ['true'] });
  t.like(await bob.client.waitClosed(), { code: 4429, errorCode: 'SG_USER_QUOTA' });

  t.is(gw.host.sessionCount, 1, 'no session was registered');
  t.is(gw.host.load().spawnsInFlight, 0);
  t.is(gw.logs.filter((record) => record['event'] === 'session.open').length, 1, 'no session.open after the first');
  t.true(sandboxProcesses() <= processes, 'no sandbox process was started');
  t.deepEqual(await gw.store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 1, user: 1 });
  first.terminate();
});

test.serial('a hinted connection whose resume fails is refused with SG_USER_QUOTA, whatever the reason', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionsPerUser: 1, resumeGraceMs: 30_000 } });
  const token = gw.token({ user: 'alice' });
  const first = await openShell(gw, token);
  const hello = await first.hello();
  const attempts = [
    { sessionId: 'no-such-session', resumeToken: hello.resumeToken },
    { sessionId: hello.sessionId, resumeToken: 'A'.repeat(43) },
  ];
  for (const attempt of attempts) {
    const hinted = await SgClient.upgrade(gw.sessionsUrl, { token, protocols: HINTED });
    if (!hinted.ok) return t.fail(`the hinted upgrade was refused: ${hinted.refusal.status}`);
    hinted.client.send({ type: 'resume', ...attempt, outputOffset: 0 });
    t.like(await hinted.client.waitClosed(), { code: 4429, errorCode: 'SG_USER_QUOTA' });
  }
  // The failed attempts did not touch the session: it still answers on its own connection.
  first.write('echo alive-$((1+1))\r');
  await first.waitOutput(/alive-2\r\n/);
  t.is(gw.host.sessionCount, 1);
  first.terminate();
});

test.serial('without the hint, at the cap, a new session is refused 429 before the upgrade; the hint does not lift the connection caps', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionsPerUser: 1, maxConnections: 2, maxHandshakesInFlight: 1 } });
  const token = gw.token({ user: 'alice' });
  const first = await openShell(gw, token);
  const refused = await SgClient.upgrade(gw.sessionsUrl, { token });
  t.false(refused.ok, 'no WebSocket was opened');
  if (!refused.ok) {
    t.like(refused.refusal, { status: 429, code: 'SG_USER_QUOTA' });
    t.regex(String(refused.refusal.headers['retry-after']), /^\d+$/);
  }
  const second = await openShell(gw, gw.token({ user: 'bob' }));
  // Two connections open = maxConnections: a hinted upgrade is refused like any other.
  const hinted = await SgClient.upgrade(gw.sessionsUrl, { token, protocols: HINTED });
  t.false(hinted.ok);
  if (!hinted.ok) t.like(hinted.refusal, { status: 503, code: 'SG_OVERLOADED' });
  first.terminate();
  second.terminate();
});
