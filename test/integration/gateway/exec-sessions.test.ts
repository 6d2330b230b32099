import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { openExec, startGatewayUnderTest } from '../../helpers/gateway-under-test.js';

/**
 * Exec sessions end to end (docs/protocol.md): a command without a terminal in a real
 * sandbox, stdout (channel 0) apart from stderr (channel 1) in one offset space, stdin with
 * an EOF, and an `exit` frame after the last output byte with the code or the signal name.
 */

test('exit codes 0, 3 and 255 travel in the exit frame with reason "exited", then close 1000', async (t) => {
  const gw = await startGatewayUnderTest(t, {});
  const token = await gw.token();
  for (const code of [0, 3, 255]) {
    const client = await openExec(gw, token, ['sh', '-c', `exit ${code}`]);
    const exit = await client.exit();
    t.like(exit, { code, signal: null, reason: 'exited', outputOffset: client.received }, `exit ${code}`);
    t.true(exit.usage.wallMs >= 0 && exit.usage.cpuMs >= 0);
    const close = await client.waitClosed();
    t.is(close.code, 1000, `exit ${code}`);
  }
});

test('a process killed by a signal reports the signal name and no code', async (t) => {
  const gw = await startGatewayUnderTest(t, {});
  const token = await gw.token();
  const self = await openExec(gw, token, ['sh', '-c', 'kill -TERM $$; sleep 5']);
  t.like(await self.exit(), { code: null, signal: 'TERM', reason: 'signaled' });

  const segv = await openExec(gw, token, ['sh', '-c', 'kill -SEGV $$']);
  t.like(await segv.exit(), { code: null, signal: 'SEGV', reason: 'signaled' });

  // A signal frame from the client: the process has announced itself, so it is running.
  const sleeper = await openExec(gw, token, ['sh', '-c', 'echo ready; exec sleep 60']);
  await sleeper.waitOutput(/ready\n/);
  sleeper.send({ type: 'signal', signal: 'KILL' });
  t.like(await sleeper.exit(), { code: null, signal: 'KILL' });
  t.is((await sleeper.waitClosed()).code, 1000);
});

test('stderr travels on channel 1, apart from stdout, in one ordered offset space', async (t) => {
  const gw = await startGatewayUnderTest(t, {});
  const client = await openExec(gw, await gw.token(), ['sh', '-c', 'echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; echo err2 >&2; exit 7']);
  const exit = await client.exit();
  t.is(exit.code, 7);
  t.is(client.channel('stdout').toString(), 'out1\nout2\n');
  t.is(client.channel('stderr').toString(), 'err1\nerr2\n');
  t.is(exit.outputOffset, client.received);
  t.is(client.received, 'out1\nout2\nerr1\nerr2\n'.length);
  // The interleaving is kept (the command paces its writes: two pipes have no order of their own).
  t.is(client.output().toString(), 'out1\nerr1\nout2\nerr2\n');
  t.deepEqual(client.offsetProblems, []);
});

test('stdin reaches the process and stdin-close gives it EOF: cat echoes, wc -c counts 1 MiB of binary exactly', async (t) => {
  const gw = await startGatewayUnderTest(t, {});
  const token = await gw.token();

  const cat = await openExec(gw, token, ['cat']);
  const text = Buffer.from('hello\nworld\n\u00e9\u0000\xff'.repeat(100), 'latin1');
  await cat.writeAll(text, { close: true });
  const catExit = await cat.exit();
  t.is(catExit.code, 0);
  t.true(cat.output().equals(text), 'cat gives back exactly the bytes it was sent, NUL and 0xff included');

  const mib = randomBytes(1024 * 1024);
  const wc = await openExec(gw, token, ['wc', '-c']);
  await wc.writeAll(mib, { close: true, timeoutMs: 60_000 });
  const wcExit = await wc.exit(60_000);
  t.is(wcExit.code, 0);
  t.is(wc.channel('stdout').toString().trim(), '1048576');
  t.is(wc.stdinAcked, 1024 * 1024, 'every stdin byte was acknowledged');

  const sha = await openExec(gw, token, ['sha256sum']);
  await sha.writeAll(mib, { close: true, timeoutMs: 60_000 });
  t.is((await sha.exit(60_000)).code, 0);
  t.is(sha.channel('stdout').toString().split(' ')[0], createHash('sha256').update(mib).digest('hex'), 'binary stdin arrives unaltered');
});

test('a command that is not found exits 127 from the sandbox, not with a gateway error', async (t) => {
  const gw = await startGatewayUnderTest(t, {});
  const client = await openExec(gw, await gw.token(), ['sh', '-c', 'no-such-command-sg']);
  const exit = await client.exit();
  t.is(exit.code, 127);
  t.regex(client.channel('stderr').toString(), /not found/);
});
