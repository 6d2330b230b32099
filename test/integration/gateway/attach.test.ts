import test from 'ava';
import { CLOSE_CODES, type ErrorFrame } from '../../../client-sdk/src/protocol/index.js';
import { startGatewayHarness, type GatewayHarness, type TestClient } from '../../helpers/gateway-harness.js';
import { waitUntil } from '../support/wait-until.js';

/**
 * Viewers (docs/protocol.md "Viewers"), end to end with real sandboxes: a connection that
 * attaches watches a running session read-only — the scrollback, then live output, then the
 * exit after its last byte — if its token reaches the session (same user, or the `attach`
 * scope within the tenant); anything else is refused exactly like a session that does not
 * exist. A viewer cannot type, cannot slow the session, and takes no session slot.
 */

const PROMPT = 'sg$ ';
const ATTACH_HINT = ['sandgate.v1', 'sandgate.attach'];

async function ownerShell(gw: GatewayHarness, user = 'alice'): Promise<{ owner: TestClient; sessionId: string }> {
  const owner = await gw.connect({ token: gw.token({ user }) });
  const hello = await owner.open({ kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 80, rows: 24, env: { PS1: PROMPT, TERM: 'dumb' } });
  await owner.waitForOutput(/sg\$ $/);
  return { owner, sessionId: hello.sessionId };
}

function fatalError(client: TestClient): Promise<ErrorFrame> {
  return client.waitFor('a fatal error', () => client.frames.find((frame): frame is ErrorFrame => frame.type === 'error' && frame.fatal));
}

test('the owner\'s own user attaches: the scrollback, then live output, then exit after the last byte; no violation either side', async (t) => {
  const gw = await startGatewayHarness(t);
  const { owner, sessionId } = await ownerShell(gw);
  owner.write('echo before-$((6*7))\r');
  await owner.waitForOutput(/before-42/);

  const viewer = await gw.connect({ token: gw.token({ user: 'alice', scopes: ['pty'] }), protocols: ATTACH_HINT });
  const attached = await viewer.attach({ sessionId });
  t.is(attached.outputOffset, 0, 'absent outputOffset: from the oldest byte held');
  t.is(attached.kind, 'pty');
  await viewer.waitForOutput(/before-42/);

  owner.write('echo live-$((6*7)); exit 3\r');
  const [ownerExit, viewerExit] = await Promise.all([owner.waitForExit(), viewer.waitForExit()]);
  t.is(viewerExit.code, 3);
  t.deepEqual(viewerExit, ownerExit, 'the same exit, after the same total output');
  t.regex(viewer.text(), /live-42/);
  t.is(viewer.text(), owner.text(), 'the viewer saw every byte the owner saw, in order');
  t.is((await viewer.waitForClose()).code, CLOSE_CODES.normal);
  t.deepEqual([...owner.violations, ...viewer.violations], []);
});

test('attach from an offset the session no longer holds starts at the oldest byte held, with a resume-truncated notice', async (t) => {
  // The smallest ring the defaults allow: 1 MiB window + 192 KiB high mark + one 64 KiB read.
  const gw = await startGatewayHarness(t, { config: { outputWindowBytes: 1024 * 1024 } });
  const { owner, sessionId } = await ownerShell(gw);
  owner.write('head -c 1600000 /dev/zero | tr "\\0" x; echo; echo done-$((1+1))\r');
  await owner.waitForOutput(/done-2/, { timeoutMs: 30_000 });

  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  const attached = await viewer.attach({ sessionId, outputOffset: 10 });
  t.true(attached.outputOffset > 10);
  const notice = await viewer.waitForFrame('notice');
  t.like(notice, { kind: 'resume-truncated', requestedOffset: 10, resumedOffset: attached.outputOffset });
  await viewer.waitForOutput(/done-2/, { timeoutMs: 30_000 });

  const late = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  const atEnd = await late.attach({ sessionId, outputOffset: 2 ** 52 });
  t.is(atEnd.outputOffset, owner.receivedOffset, 'an offset past the end starts at the end (the owner has it all: the shell waits at its prompt)');
  owner.write('exit\r');
  const [ownerExit, lateExit] = await Promise.all([owner.waitForExit(), late.waitForExit()]);
  t.is(lateExit.outputOffset, ownerExit.outputOffset);
  t.regex(late.text(), /exit/);
  t.false(late.text().includes('done-2'), 'from the end on: nothing from before the attach');
});

test('another user needs the attach scope; another tenant and an unknown id are refused alike (SG_SESSION_NOT_FOUND)', async (t) => {
  const gw = await startGatewayHarness(t);
  const { owner, sessionId } = await ownerShell(gw);

  const refusals: { who: string; token: string; id: string }[] = [
    { who: 'bob, same tenant, no attach scope', token: gw.token({ user: 'bob', scopes: ['pty', 'exec'] }), id: sessionId },
    { who: 'alice of another tenant, with the attach scope', token: gw.token({ tenant: 'globex', user: 'alice', scopes: ['attach'] }), id: sessionId },
    { who: 'a session id that does not exist', token: gw.token({ user: 'alice', scopes: ['attach'] }), id: 'sess_doesnotexist0' },
  ];
  for (const { who, token, id } of refusals) {
    const viewer = await gw.connect({ token, protocols: ATTACH_HINT });
    viewer.send({ type: 'attach', sessionId: id });
    const error = await fatalError(viewer);
    t.is(error.code, 'SG_SESSION_NOT_FOUND', who);
    t.is((await viewer.waitForClose()).code, 4404, who);
  }

  const teacher = await gw.connect({ token: gw.token({ user: 'teacher', scopes: ['attach'] }), protocols: ATTACH_HINT });
  await teacher.attach({ sessionId });
  owner.write('echo seen-by-$((2+2))\r');
  await teacher.waitForOutput(/seen-by-4/);
  owner.write('exit\r');
  t.is((await teacher.waitForExit()).code, 0);
});

test('a viewer is read-only: its stdin is refused (SG_VIEWER_READ_ONLY, 4403) and never reaches the shell', async (t) => {
  const gw = await startGatewayHarness(t);
  const { owner, sessionId } = await ownerShell(gw);
  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  await viewer.attach({ sessionId });
  viewer.send({ type: 'stdin', offset: 0, data: new TextEncoder().encode('touch /tmp/viewer-was-here\r') });
  t.is((await fatalError(viewer)).code, 'SG_VIEWER_READ_ONLY');
  t.is((await viewer.waitForClose()).code, 4403);

  owner.write('test -e /tmp/viewer-was-here && echo typed || echo not-typed\r');
  await owner.waitForOutput(/\r\n(typed|not-typed)\r\n/);
  t.regex(owner.text(), /\r\nnot-typed\r\n/);
  owner.write('exit\r');
  t.is((await owner.waitForExit()).code, 0);
});

test('a viewer that never acks does not slow the owner: the owner runs to its exit, the viewer is closed SG_VIEWER_BEHIND', async (t) => {
  const gw = await startGatewayHarness(t, { config: { outputWindowBytes: 64 * 1024 } });
  const { owner, sessionId } = await ownerShell(gw);
  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT, ack: 'manual', retainOutput: false });
  await viewer.attach({ sessionId });

  owner.write('head -c 3000000 /dev/zero | base64; exit 0\r');
  const exit = await owner.waitForExit(60_000);
  t.is(exit.code, 0);
  t.true(exit.outputOffset > 4_000_000, `${exit.outputOffset} bytes went to the owner`);
  const error = await fatalError(viewer);
  t.is(error.code, 'SG_VIEWER_BEHIND');
  t.is((await viewer.waitForClose()).code, 4410);
  t.true(viewer.outputBytes <= 64 * 1024, `the viewer got ${viewer.outputBytes} bytes: no more than its window`);
});

test('viewers take no session slot and are bounded per session: at the user\'s cap one can still watch; one past maxViewersPerSession is SG_VIEWER_LIMIT', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionsPerUser: 1 }, layer: { maxViewersPerSession: 2 } });
  const { owner, sessionId } = await ownerShell(gw);

  const refused = await gw.tryConnect({ token: gw.token({ user: 'alice' }) });
  t.like(refused, { ok: false, status: 429 }, 'without the hint the viewer is counted like a new session');
  const first = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  await first.attach({ sessionId });
  const opener = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  opener.send({ type: 'open', kind: 'exec', argv: ['true'] });
  t.is((await fatalError(opener)).code, 'SG_USER_QUOTA', 'the attach hint opens nothing');

  const second = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  await second.attach({ sessionId });
  const third = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  third.send({ type: 'attach', sessionId });
  t.is((await fatalError(third)).code, 'SG_VIEWER_LIMIT');

  // A viewer that leaves frees its place (the gateway sees the close a moment after the client).
  first.close();
  await first.waitForClose();
  const again = await waitUntil('a viewer place to free up', async () => {
    const candidate = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
    candidate.send({ type: 'attach', sessionId });
    const answer = await candidate.waitFor('attached or a refusal', () => candidate.frames.find((frame) => frame.type === 'attached' || frame.type === 'error'));
    return answer.type === 'attached' ? { done: true, value: candidate } : { done: false, state: JSON.stringify(answer) };
  }, { timeoutMs: 5000 });
  owner.write('exit\r');
  for (const viewer of [second, again]) t.is((await viewer.waitForExit()).code, 0);
});

test('a viewer still gets the exit when the owner has dropped its connection', async (t) => {
  const gw = await startGatewayHarness(t, { config: { resumeGraceMs: 30_000 } });
  const owner = await gw.connect({ token: gw.token({ user: 'alice' }) });
  const hello = await owner.open({ kind: 'exec', argv: ['sh', '-c', 'read line; echo "got $line"; exit 7'] });
  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  await viewer.attach({ sessionId: hello.sessionId });
  owner.write('hello\n');
  owner.closeStdin();
  const exit = await viewer.waitForExit();
  owner.terminate();
  t.is(exit.code, 7);
  t.regex(viewer.text(), /got hello/);
});

test('a token with only the attach scope is admitted to watch, and refused (SG_AUTH_FORBIDDEN) when it tries to open a session', async (t) => {
  const gw = await startGatewayHarness(t);
  const watcher = await gw.connect({ token: gw.token({ user: 'alice', scopes: ['attach'] }) });
  watcher.send({ type: 'open', kind: 'pty', cols: 80, rows: 24 });
  t.is((await fatalError(watcher)).code, 'SG_AUTH_FORBIDDEN');
  t.is((await watcher.waitForClose()).code, 4403);
  t.is(gw.host.sessionCount, 0, 'nothing was spawned');
});

test('a viewer still behind when the session ends gets the rest of the output, then the exit, once it acks', async (t) => {
  const gw = await startGatewayHarness(t, { config: { outputWindowBytes: 64 * 1024 } });
  const { owner, sessionId } = await ownerShell(gw);
  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT, ack: 'manual' });
  await viewer.attach({ sessionId });
  // About 400 KB: more than the viewer's window, less than the session's ring (1.25 MiB).
  owner.write('head -c 300000 /dev/zero | base64; exit 4\r');
  const ownerExit = await owner.waitForExit(30_000);
  t.true(viewer.receivedOffset < ownerExit.outputOffset, 'the viewer is behind when the session ends');
  viewer.setAckMode('auto');
  viewer.ack();
  const viewerExit = await viewer.waitForExit(30_000);
  t.deepEqual(viewerExit, ownerExit);
  t.is(viewer.text(), owner.text(), 'every byte, in order');
  t.deepEqual(viewer.violations, []);
});

test('a viewer\'s repeated acks count against controlFramesPerSecond: SG_INPUT_RATE (not fatal), and it keeps watching', async (t) => {
  const gw = await startGatewayHarness(t, { layer: { controlFramesPerSecond: 1, controlBurstFrames: 2 } });
  const { owner, sessionId } = await ownerShell(gw);
  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT, ack: 'manual' });
  await viewer.attach({ sessionId });
  await viewer.waitForOutput(/sg\$ $/);
  viewer.ack();
  const offset = viewer.conversation.outputAcked;
  for (let i = 0; i < 6; i += 1) viewer.send({ type: 'ack', offset });
  // Within the bucket's refill (1 a second) at most 2 of the 6 can pass; allow one refill for a slow machine.
  const refusals = await viewer.waitFor('the rate refusals', () => {
    const count = viewer.frames.filter((frame) => frame.type === 'error' && frame.code === 'SG_INPUT_RATE' && !frame.fatal).length;
    return count >= 3 ? count : undefined;
  });
  t.true(refusals >= 3, `${refusals} of 6 repeated acks refused`);
  viewer.setAckMode('auto');
  owner.write('echo still-$((6*7))\r');
  await viewer.waitForOutput(/still-42/);
  t.is(viewer.closed, undefined);
});

test('one user watches at most maxViewersPerUser sessions at once (SG_VIEWER_LIMIT); a viewer that leaves frees its place', async (t) => {
  const gw = await startGatewayHarness(t, { config: { maxSessionsPerUser: 5 }, layer: { maxViewersPerUser: 2 } });
  const first = await ownerShell(gw, 'alice');
  const second = await ownerShell(gw, 'bob');
  const teacher = (): Promise<TestClient> => gw.connect({ token: gw.token({ user: 'teacher', scopes: ['attach'] }), protocols: ATTACH_HINT });
  const a = await teacher();
  await a.attach({ sessionId: first.sessionId });
  const b = await teacher();
  await b.attach({ sessionId: second.sessionId });
  const c = await teacher();
  c.send({ type: 'attach', sessionId: first.sessionId });
  t.is((await fatalError(c)).code, 'SG_VIEWER_LIMIT');
  // Another user's viewers are counted apart.
  const own = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  await own.attach({ sessionId: first.sessionId });

  a.close();
  await a.waitForClose();
  await waitUntil('the teacher\'s place to free up', async () => {
    const candidate = await teacher();
    candidate.send({ type: 'attach', sessionId: first.sessionId });
    const answer = await candidate.waitFor('attached or a refusal', () => candidate.frames.find((frame) => frame.type === 'attached' || frame.type === 'error'));
    return answer.type === 'attached' ? { done: true, value: candidate } : { done: false, state: JSON.stringify(answer) };
  }, { timeoutMs: 5000 });
  for (const { owner } of [first, second]) owner.write('exit\r');
  t.is((await b.waitForExit()).code, 0);
});

test('a session abandoned by its owner (the resume grace ran out) closes its viewers with SG_SESSION_ENDED', async (t) => {
  const gw = await startGatewayHarness(t, { config: { resumeGraceMs: 300 } });
  const { owner, sessionId } = await ownerShell(gw);
  const viewer = await gw.connect({ token: gw.token({ user: 'alice' }), protocols: ATTACH_HINT });
  await viewer.attach({ sessionId });
  owner.terminate();
  const error = await fatalError(viewer);
  t.is(error.code, 'SG_SESSION_ENDED');
  t.is((await viewer.waitForClose()).code, 4410);
  t.is(viewer.frames.filter((frame) => frame.type === 'exit').length, 0);
});
