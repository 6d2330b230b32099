import test from 'ava';
import { SgClient } from '../../helpers/gateway-attack-client.js';
import { mulberry32 } from '../../helpers/seeded-random.js';
import { openSession, startGatewayUnderTest } from '../../helpers/gateway-under-test.js';

/**
 * Resume (docs/protocol.md "Resume"): the output of `seq 1 200000` on a PTY, across several
 * abrupt disconnects at random points (a seeded PRNG picks them), reassembled from the frames
 * of every connection, equals the real thing exactly: no byte lost, none repeated. Each
 * reconnection presents the resume token of the latest hello and the bytes received so far.
 */

const SEED = Number(process.env['SANDGATE_FUZZ_SEED'] ?? 0x5eed);
const COUNT = 200_000;
/** Bytes of `seq 1 200000` on a PTY: every \n becomes \r\n (onlcr). */
const PTY_TOTAL = 1_288_895 + COUNT;
/**
 * seq, then wait for a line before exiting (echo off, so the line adds no output): the test
 * lets the command exit only once every byte has arrived. A command that exits at once can
 * lose its last bytes on Linux PTYs (node-pty #85); that is tested on its own below.
 */
const SEQ_THEN_WAIT = ['sh', '-c', `stty -echo; seq 1 ${COUNT}; read line`];

function expectedSeq(): string {
  const lines: string[] = [];
  for (let n = 1; n <= COUNT; n += 1) lines.push(String(n));
  return `${lines.join('\n')}\n`;
}

test('seq 1 200000 across random abrupt disconnects arrives exactly once, in order', async (t) => {
  const gw = await startGatewayUnderTest(t, { outputWindowBytes: 64 * 1024, maxDataFrameBytes: 8 * 1024, resumeGraceMs: 30_000 });
  const token = await gw.token();
  const expected = expectedSeq();
  const total = PTY_TOTAL;
  const random = mulberry32(SEED);
  const cuts = Array.from({ length: 6 }, () => Math.floor(random() * total * 0.95)).sort((a, b) => a - b);
  t.log(`seed ${SEED}, disconnects after ${cuts.join(', ')} B of ${total}`);

  let client = await openSession(gw, token, { type: 'open', kind: 'pty', argv: SEQ_THEN_WAIT, cols: 80, rows: 24 });
  const parts: Buffer[] = [];
  let hello = await client.hello();
  const sessionId = hello.sessionId;
  let reconnections = 0;
  for (const cut of cuts) {
    // Wait for the cut point, then drop the TCP connection without a close frame.
    await client.waitReceived(cut, 30_000);
    client.terminate();
    await client.waitClosed();
    parts.push(client.output());
    const offset = client.received;
    client = await SgClient.connect(gw.sessionsUrl, { token });
    client.send({ type: 'resume', sessionId: hello.sessionId, resumeToken: hello.resumeToken, outputOffset: offset });
    hello = await client.hello();
    t.true(hello.resumed);
    t.is(hello.sessionId, sessionId);
    t.is(hello.outputOffset, offset, 'the resume is exact: the ring still held every unacknowledged byte');
    t.false(client.controls.some((f) => f.type === 'notice' && f.kind === 'resume-truncated'));
    reconnections += 1;
  }
  await client.waitReceived(total, 60_000);
  client.write('\r');
  const exit = await client.exit(60_000);
  parts.push(client.output());
  t.is(exit.code, 0);
  t.true(reconnections >= 3, `${reconnections} reconnections happened before seq ended`);
  const text = Buffer.concat(parts).toString('latin1');
  t.is(exit.outputOffset, text.length, 'exit.outputOffset counts every byte of the session');
  const normalised = text.replace(/\r\n/g, '\n');
  t.is(normalised.length, expected.length);
  t.true(normalised === expected, 'the reassembled output is exactly seq 1 200000');
  t.deepEqual(client.offsetProblems, []);
});

test('a drop that loses the hello can be retried with the same resume token; after a frame on the new connection only the fresh one works', async (t) => {
  const gw = await startGatewayUnderTest(t, { resumeGraceMs: 30_000 });
  const token = await gw.token();
  const first = await openSession(gw, token, { type: 'open', kind: 'pty', argv: ['sh', '-c', 'echo ready; exec cat'], cols: 80, rows: 24 });
  const opened = await first.hello();
  await first.waitOutput(/ready\r\n/);
  first.terminate();
  await first.waitClosed();
  const resume = { type: 'resume' as const, sessionId: opened.sessionId, resumeToken: opened.resumeToken, outputOffset: first.received };

  // The hello of this resume is "lost": the client drops before sending anything.
  const lost = await SgClient.connect(gw.sessionsUrl, { token, autoAck: false });
  lost.send(resume);
  const lostHello = await lost.hello();
  lost.terminate();
  await lost.waitClosed();

  const retried = await SgClient.connect(gw.sessionsUrl, { token });
  retried.send(resume);
  const hello = await retried.hello();
  t.true(hello.resumed);
  t.not(hello.resumeToken, opened.resumeToken);
  t.not(hello.resumeToken, lostHello.resumeToken);
  retried.write('ping\r');
  await retried.waitOutput(/ping\r\n/);
  retried.terminate();
  await retried.waitClosed();

  // The retried connection sent a frame: the first token is used up now.
  const stale = await SgClient.connect(gw.sessionsUrl, { token });
  stale.send({ ...resume, outputOffset: 0 });
  t.is((await stale.error()).code, 'SG_RESUME_REJECTED');
  const fresh = await SgClient.connect(gw.sessionsUrl, { token });
  fresh.send({ ...resume, resumeToken: hello.resumeToken, outputOffset: retried.received });
  t.true((await fresh.hello()).resumed);
  fresh.terminate();
});

test('a resume replaces the connection still attached: the old one is closed with SG_RESUME_SUPERSEDED', async (t) => {
  const gw = await startGatewayUnderTest(t, { resumeGraceMs: 30_000 });
  const token = await gw.token();
  const old = await openSession(gw, token, { type: 'open', kind: 'pty', argv: ['sh', '-c', 'echo ready; exec cat'], cols: 80, rows: 24 });
  const hello = await old.hello();
  await old.waitOutput(/ready\r\n/);
  const next = await SgClient.connect(gw.sessionsUrl, { token });
  next.send({ type: 'resume', sessionId: hello.sessionId, resumeToken: hello.resumeToken, outputOffset: old.received });
  t.true((await next.hello()).resumed);
  const closed = await old.waitClosed();
  t.is(closed.code, 4409);
  t.is(closed.errorCode, 'SG_RESUME_SUPERSEDED');
  next.terminate();
});

test('a resume from an offset whose bytes have left a tiny ring is told exactly what was lost (resume-truncated)', async (t) => {
  // A lossy ring of 128 KiB under a 512 KiB window (harness option, TESTS ONLY): a client that
  // reads without acking can be sent more than the ring keeps.
  const gw = await startGatewayUnderTest(t, { outputWindowBytes: 512 * 1024, maxDataFrameBytes: 8 * 1024, resumeGraceMs: 30_000 }, {
    layer: { sourceHighWaterBytes: 32 * 1024, sourceLowWaterBytes: 8 * 1024 },
    lossyResumeBufferBytes: 128 * 1024,
  });
  const token = await gw.token();
  const client = await openSession(gw, token, { type: 'open', kind: 'pty', argv: SEQ_THEN_WAIT, cols: 80, rows: 24 }, { autoAck: false });
  const hello = await client.hello();
  // The client reads but never acks; the ring (smaller than the window) has dropped the oldest bytes.
  await client.waitReceived(400 * 1024);
  client.terminate();
  await client.waitClosed();
  const resumed = await SgClient.connect(gw.sessionsUrl, { token });
  resumed.send({ type: 'resume', sessionId: hello.sessionId, resumeToken: hello.resumeToken, outputOffset: 0 });
  const again = await resumed.hello();
  const notice = await resumed.notice('resume-truncated');
  await resumed.waitReceived(PTY_TOTAL, 60_000);
  resumed.write('\r');
  t.true(again.outputOffset > 0);
  t.is(notice.requestedOffset, 0);
  t.is(notice.resumedOffset, again.outputOffset);
  // What follows continues exactly at resumedOffset of the real output.
  const exit = await resumed.exit(60_000);
  const expected = expectedSeq().replace(/\n/g, '\r\n');
  t.log(`${notice.resumedOffset - notice.requestedOffset} B lost, announced by the notice`);
  t.is(exit.outputOffset, expected.length);
  t.true(resumed.output().toString('latin1') === expected.slice(notice.resumedOffset), 'the output after the notice is the real output from resumedOffset on');
});

test('the last output bytes of a PTY command that exits at once all arrive before its exit frame', async (t) => {
  // node-pty reports EIO on the master once the slave side is closed, and the bytes still in
  // the kernel's PTY buffers can be dropped with it (node-pty #85, #726). The gateway promises
  // exit after the LAST byte (docs/protocol.md "exit"), so it must drain the PTY first.
  const gw = await startGatewayUnderTest(t, {});
  const token = await gw.token();
  const totals: number[] = [];
  for (let run = 0; run < 12; run += 1) {
    const client = await openSession(gw, token, { type: 'open', kind: 'pty', argv: ['seq', '1', String(COUNT)], cols: 80, rows: 24 });
    const exit = await client.exit(60_000);
    t.is(exit.code, 0);
    t.is(exit.outputOffset, client.received);
    totals.push(exit.outputOffset);
  }
  t.log(`output totals of 12 runs: ${totals.join(' ')}`);
  t.deepEqual(totals.filter((n) => n !== PTY_TOTAL), [], `every run delivers all ${PTY_TOTAL} B`);
});
