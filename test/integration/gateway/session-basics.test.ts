/**
 * Behaviour of live sessions end to end: a real gateway, real sandboxes, real WebSocket
 * clients (test/helpers/gateway-harness.ts). A pty session is a terminal (echo, exit code, exit
 * after the last byte); an exec session keeps stdout and stderr apart and takes stdin with an
 * end; refusals are typed; a dropped connection resumes exactly; output backpressure never
 * holds back a keystroke; and whatever a session held (sandbox, lease) is gone after it ends.
 */
import test, { type ExecutionContext } from 'ava';

import { startGatewayHarness, type GatewayHarness, type TestClient } from '../../helpers/gateway-harness.js';
import { isAlive, sandboxProcessRunning } from '../support/host-processes.js';
import { waitUntil, within } from '../support/wait-until.js';

const SHELL = { kind: 'pty', argv: ['/bin/bash', '--norc', '--noprofile', '-i'], cols: 80, rows: 24, env: { PS1: 'sg$ ' } } as const;
const PROMPT = /sg\$ $/;

/** Waits until every session of the gateway is gone, then checks that no lease is left. */
async function released(t: ExecutionContext, gw: GatewayHarness, who = { tenant: 'acme', user: 'alice' }): Promise<void> {
  await within('every session released', 15_000, gw.host.idle());
  t.deepEqual(await gw.store.counts(who), { tenant: 0, user: 0 }, 'no lease is left');
}

function noViolations(t: ExecutionContext, client: TestClient): void {
  t.deepEqual(client.violations, [], 'every frame from the gateway keeps the protocol rules');
}

test('a pty session runs the default shell: echo hi comes back, exit 0 arrives after the last byte, then close 1000', async (t) => {
  const gw = await startGatewayHarness(t);
  const client = await gw.connect();
  const hello = await client.open({ kind: 'pty', cols: 100, rows: 30 });
  t.like(hello, { kind: 'pty', resumed: false, outputOffset: 0, stdinOffset: 0, stdinClosed: false });
  t.regex(hello.sessionId, /^[A-Za-z0-9_-]{8,64}$/);
  t.deepEqual(hello.limits, gw.host.settings.hello);
  await client.waitForOutput(/\$ $/);
  client.write('echo hi\r');
  // Bash's bracketed paste puts `\e[?2004l\r` before the output (FIELD-NOTES).
  await client.waitForOutput(/[\r\n]hi\r\n/);
  client.write('exit\r');
  const exit = await client.waitForExit();
  t.like(exit, { code: 0, signal: null, reason: 'exited' });
  t.is(exit.outputOffset, client.receivedOffset, 'exit follows the last output byte');
  t.true(exit.usage.wallMs > 0);
  const close = await client.waitForClose();
  t.is(close.code, 1000);
  noViolations(t, client);
  await released(t, gw);
  t.false(gw.logLines.some((line) => line.includes(hello.resumeToken)), 'the resume token reaches no log line');
});

test('an exec session keeps stdout and stderr apart and reports exit code 3', async (t) => {
  const gw = await startGatewayHarness(t);
  const client = await gw.connect();
  await client.open({ kind: 'exec', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  const exit = await client.waitForExit();
  t.like(exit, { code: 3, signal: null, reason: 'exited' });
  t.is(client.text('stdout'), 'out\n');
  t.is(client.text('stderr'), 'err\n');
  t.is(exit.outputOffset, 8);
  t.is((await client.waitForClose()).code, 1000);
  noViolations(t, client);
  await released(t, gw);
});

test('exec stdin reaches the command, is acknowledged, and stdin-close ends it: cat echoes and exits 0', async (t) => {
  const gw = await startGatewayHarness(t);
  const client = await gw.connect();
  await client.open({ kind: 'exec', argv: ['cat'] });
  client.write('hello sandbox\n');
  await client.waitForOutput(/hello sandbox\n/, { channel: 'stdout' });
  t.is(await client.waitForStdinAck(14), 14);
  client.closeStdin();
  const exit = await client.waitForExit();
  t.like(exit, { code: 0, reason: 'exited' });
  t.is(client.text('stdout'), 'hello sandbox\n');
  t.is(client.text('stderr'), '');
  noViolations(t, client);
  await released(t, gw);
});

test('typed keys are acknowledged at once, and each echo frame carries the stdin acknowledgement of its key too', async (t) => {
  const gw = await startGatewayHarness(t);
  const client = await gw.connect();
  await client.open(SHELL);
  await client.waitForOutput(PROMPT);
  const line = 'echo typed';
  for (let i = 1; i <= line.length; i += 1) {
    const offset = client.conversation.stdinOffset;
    client.write(line.charAt(i - 1));
    await client.waitForOutput(new RegExp(`sg\\$ ${line.slice(0, i)}$`));
    t.true(client.lastOutputStdinAck >= offset + 1, `the echo of key ${i} carried stdinAck ${client.lastOutputStdinAck}, at least ${offset + 1}`);
  }
  client.write('\r');
  await client.waitForOutput(/[\r\n]typed\r\n/);
  client.write('exit\r');
  await client.waitForExit();
  // A pty session also sends each key's stdin-ack on its own, ahead of the echo (eager:
  // stdin-ack-schedule.ts says why).
  const separate = client.frames.filter((frame) => frame.type === 'stdin-ack').length;
  t.true(separate >= line.length, `${separate} separate stdin-acks for ${line.length} keys`);
  t.is(client.conversation.stdinAcked, client.conversation.stdinOffset);
  noViolations(t, client);
  await released(t, gw);
});

test('stdin that no output follows is acknowledged by a stdin-ack of its own', async (t) => {
  const gw = await startGatewayHarness(t);
  const client = await gw.connect();
  await client.open({ kind: 'exec', argv: ['sh', '-c', 'cat > /dev/null; echo done'] });
  client.write('quiet input\n');
  const ack = await client.waitForFrame('stdin-ack', (frame) => frame.offset === 12);
  t.is(ack.offset, 12);
  t.is(client.receivedOffset, 0, 'no output carried it');
  client.closeStdin();
  t.like(await client.waitForExit(), { code: 0 });
  t.is(client.text('stdout'), 'done\n');
  noViolations(t, client);
  await released(t, gw);
});

test('a signal from the client reaches the command; KILL ends the whole sandbox', async (t) => {
  const gw = await startGatewayHarness(t);
  const term = await gw.connect();
  await term.open({ kind: 'exec', argv: ['sleep', '101'] });
  // Sent once the command runs: a signal during the sandbox's set-up is the launcher's business.
  await sandboxProcessRunning(['sleep', '101']);
  term.signal('TERM');
  t.like(await term.waitForExit(), { code: null, signal: 'TERM', reason: 'signaled' });
  const kill = await gw.connect();
  await kill.open({ kind: 'exec', argv: ['sh', '-c', 'sleep 100 & sleep 100'] });
  kill.signal('KILL');
  t.like(await kill.waitForExit(), { code: null, signal: 'KILL', reason: 'signaled' });
  noViolations(t, term);
  noViolations(t, kill);
  await released(t, gw);
});

test('refusals are typed and give the lease back: missing scope, forbidden env, a malformed first frame', async (t) => {
  const gw = await startGatewayHarness(t);
  const execOnly = await gw.connect({ token: gw.token({ scopes: ['exec'] }) });
  await t.throwsAsync(execOnly.open({ kind: 'pty', cols: 80, rows: 24 }), { message: /SG_AUTH_FORBIDDEN/ });
  t.like(await execOnly.waitForClose(), { code: 4403, errorCode: 'SG_AUTH_FORBIDDEN' });

  const secrets = await gw.connect();
  await t.throwsAsync(secrets.open({ kind: 'exec', argv: ['env'], env: { SANDGATE_AUTH_KEYS: 'x' } }), { message: /SG_SPEC_FORBIDDEN/ });
  t.like(await secrets.waitForClose(), { code: 4403, errorCode: 'SG_SPEC_FORBIDDEN' });

  const garbage = await gw.connect();
  garbage.sendRaw('{"type":"open"', { binary: false });
  t.like(await garbage.waitForClose(), { code: 4400, errorCode: 'SG_PROTO_MALFORMED' });

  const early = await gw.connect();
  early.send({ type: 'ack', offset: 0 });
  t.like(await early.waitForClose(), { code: 4409, errorCode: 'SG_PROTO_OUT_OF_ORDER' });
  await released(t, gw);
});

test('a dropped pty session resumes with exactly the missing bytes; the old token and the superseded connection are refused', async (t) => {
  const gw = await startGatewayHarness(t);
  const first = await gw.connect({ ack: 'manual' });
  const hello = await first.open(SHELL);
  await first.waitForOutput(PROMPT);
  first.write('echo one-$((40+2))\r');
  await first.waitForOutput(/one-42\r\n/);
  // Acknowledge only part of it: the resume must start from what the client says it has.
  const kept = Math.floor(first.receivedOffset / 2);
  first.ack(kept);
  first.terminate();

  const second = await gw.connect();
  const again = await second.resume({ sessionId: hello.sessionId, resumeToken: hello.resumeToken, outputOffset: kept });
  t.like(again, { resumed: true, kind: 'pty', outputOffset: kept, stdinOffset: first.stdinOffset, stdinClosed: false });
  t.notDeepEqual(again.resumeToken, hello.resumeToken);
  await second.waitForOutput(/one-42\r\n/);
  t.deepEqual(second.output().subarray(0, first.receivedOffset - kept), first.output().subarray(kept), 'the bytes after the resume offset come again, unchanged');
  second.write('echo two-$((50+5))\r');
  await second.waitForOutput(/two-55\r\n/);

  // The token of the first hello was spent once the second connection sent a frame.
  const stale = await gw.connect();
  await t.throwsAsync(stale.resume({ sessionId: hello.sessionId, resumeToken: hello.resumeToken, outputOffset: 0 }), { message: /SG_RESUME_REJECTED/ });
  t.like(await stale.waitForClose(), { code: 4404, errorCode: 'SG_RESUME_REJECTED' });
  // Another user of the tenant cannot resume it even with the live token.
  const mallory = await gw.connect({ token: gw.token({ user: 'mallory' }) });
  await t.throwsAsync(mallory.resume({ sessionId: hello.sessionId, resumeToken: again.resumeToken, outputOffset: 0 }), { message: /SG_RESUME_REJECTED/ });

  const third = await gw.connect();
  const latest = await third.resume({ sessionId: hello.sessionId, resumeToken: again.resumeToken, outputOffset: second.receivedOffset });
  t.like(await second.waitForClose(), { code: 4409, errorCode: 'SG_RESUME_SUPERSEDED' });
  t.is(latest.outputOffset, second.receivedOffset);
  third.write('exit 7\r');
  t.like(await third.waitForExit(), { code: 7, reason: 'exited' });
  for (const client of [first, second, third]) noViolations(t, client);
  await released(t, gw);
});

test('a flood to a client that does not ack stops at the window, and Ctrl-C still interrupts it at once', async (t) => {
  const window = 64 * 1024;
  const gw = await startGatewayHarness(t, { config: { outputWindowBytes: window, maxDataFrameBytes: 16 * 1024 } });
  const client = await gw.connect({ ack: 'manual' });
  await client.open(SHELL);
  await client.waitForOutput(PROMPT);
  client.ack();
  client.write('yes\r');
  const yes = await sandboxProcessRunning(['yes']);
  await client.waitFor('a full output window', () => (client.receivedOffset - client.conversation.outputAcked >= window ? true : undefined));
  const acked = client.conversation.outputAcked;
  // Nothing acknowledged: the PTY is paused and `yes` blocks in write(2). The keystroke still
  // reaches the line discipline, which sends SIGINT to the foreground job.
  client.write('\x03');
  await waitUntil('yes to die of the ^C', () => (isAlive(yes) ? { done: false, state: `pid ${yes.pid} alive` } : { done: true, value: true }), { timeoutMs: 10_000 });
  t.is(client.conversation.outputAcked, acked, 'no output was acknowledged meanwhile');
  t.true(client.receivedOffset - acked <= window, 'the gateway never sent past the window');
  client.setAckMode('auto');
  await client.waitForOutput(PROMPT, { timeoutMs: 30_000 });
  client.write('echo after-$((6*7))\r');
  await client.waitForOutput(/[\r\n]after-42\r\n/);
  client.write('exit\r');
  const exit = await client.waitForExit();
  t.is(exit.outputOffset, client.receivedOffset);
  noViolations(t, client);
  await released(t, gw);
});

test('an idle session ends with reason idle-timeout after idleTimeoutMs', async (t) => {
  const gw = await startGatewayHarness(t, { config: { idleTimeoutMs: 1000 } });
  const client = await gw.connect();
  const hello = await client.open({ kind: 'exec', argv: ['sleep', '100'] });
  t.is(hello.limits.idleTimeoutMs, 1000);
  t.like(await client.waitForExit(), { reason: 'idle-timeout' });
  await released(t, gw);
});
