import test, { type ExecutionContext } from 'ava';
import { PROMPT_RE, type SgClient } from '../../helpers/gateway-attack-client.js';
import { cpuTicks, findSandboxProcess, openShell, observe, startGatewayChild, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway-under-test.js';

/**
 * Output flow control under a flood (docs/protocol.md "Flow control", SECURITY.md E "Output
 * floods"): a client that stops acking gets at most `outputWindowBytes` beyond its last ack,
 * the PTY is paused so the flooding program blocks in write(2) (it stops using CPU), gateway
 * memory stays bounded, acking restarts the flow, and Ctrl-C reaches the program at once.
 */

const WINDOW = 256 * 1024;
const FRAME = 16 * 1024;
/** Gateway RSS growth allowed for one flooded session, bytes: the documented bound (~1.2 MiB here) plus V8/allocator noise. */
const RSS_GROWTH_BOUND = 24 * 1024 * 1024;

/**
 * A gateway with a 256 KiB window and a shell that has shown its prompt, acked. `child`: the
 * gateway runs as `sandgate serve` in a child process, so that its RSS is its own.
 */
async function flooding(t: ExecutionContext, child = false): Promise<{ gw: GatewayUnderTest; client: SgClient }> {
  const config = { outputWindowBytes: WINDOW, maxDataFrameBytes: FRAME, idleTimeoutMs: 0 };
  const gw = child ? await startGatewayChild(t, config) : await startGatewayUnderTest(t, config);
  const client = await openShell(gw, await gw.token(), { autoAck: false, keepBytes: 256 * 1024 });
  t.is((await client.hello()).limits.outputWindowBytes, WINDOW);
  client.ack();
  return { gw, client };
}

const kib = (bytes: number): string => (bytes / 1024).toFixed(0);
const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/** Waits until the client holds a full window it has not acked. */
async function windowFull(client: SgClient): Promise<number> {
  return client.until('a full output window', () => (client.received >= client.acked + WINDOW ? client.received : undefined), 20_000);
}

test('a client that stops acking gets no more than the window, the flooding program blocks, and memory stays bounded', async (t) => {
  const { gw, client } = await flooding(t, true);
  const rssBefore = await gw.rss();
  client.write('yes sg-flood-line\r');
  const stalledAt = await windowFull(client);
  const yes = await findSandboxProcess(gw, 'yes');

  // Observe the stall for a while: not a synchronisation, a measurement of nothing happening.
  const ticksBefore = cpuTicks(yes);
  await observe(1500);
  const ticksAfter = cpuTicks(yes);
  const rssStalled = await gw.rss();
  t.is(client.received, stalledAt, 'nothing more arrived while the window was spent');
  t.true(client.maxUnacked <= WINDOW, `sent beyond the last ack: ${client.maxUnacked} B, window ${WINDOW} B`);
  t.is(client.received - client.acked, WINDOW, 'the window is used exactly');
  t.true(ticksAfter - ticksBefore <= 5, `yes used ${ticksAfter - ticksBefore} ticks while paused: it must be blocked in write(2)`);
  t.true(rssStalled - rssBefore < RSS_GROWTH_BOUND, `gateway RSS grew ${rssStalled - rssBefore} B with a stalled flood`);
  t.log(`stalled flood: ${client.received} B received, gateway RSS +${kib(rssStalled - rssBefore)} KiB (bound ${kib(RSS_GROWTH_BOUND)} KiB)`);

  // Acking restarts the flow: many windows' worth flows through, still within the window each time.
  client.autoAck = true;
  client.ack();
  await client.waitReceived(stalledAt + 64 * WINDOW, 30_000);
  t.true(client.maxUnacked <= WINDOW, `never beyond the window: ${client.maxUnacked} B`);
  const rssFlowing = await gw.rss();
  // Then three times as much again: a per-byte leak would grow by tens of MiB, a bounded session not.
  const flowingAt = client.received;
  await client.waitReceived(flowingAt + 192 * WINDOW, 60_000);
  const rssLater = await gw.rss();
  t.true(client.maxUnacked <= WINDOW, `never beyond the window: ${client.maxUnacked} B`);
  t.true(rssLater - rssBefore < RSS_GROWTH_BOUND, `gateway RSS grew ${rssLater - rssBefore} B after ${client.received} B of flood`);
  t.true(rssLater - rssFlowing < RSS_GROWTH_BOUND / 2, `gateway RSS grew ${rssLater - rssFlowing} B over the last ${client.received - flowingAt} B of flood`);
  t.log(`gateway RSS: +${kib(rssFlowing - rssBefore)} KiB after ${mib(flowingAt)} MiB of flood, +${kib(rssLater - rssBefore)} KiB after ${mib(client.received)} MiB (bound ${kib(RSS_GROWTH_BOUND)} KiB)`);

  // Ctrl-C while the flood runs at full speed: the prompt comes back at once.
  const interruptAt = client.received;
  const sentAt = performance.now();
  client.write('\x03');
  await client.until('the prompt after ^C', () => (PROMPT_RE.test(client.output().subarray(-64).toString('latin1')) ? true : undefined), 10_000);
  t.log(`^C to prompt: ${(performance.now() - sentAt).toFixed(0)} ms, ${client.received - interruptAt} B after the ^C`);
  client.write('echo after-$((6*7))\r');
  await client.waitOutput(/[\r\n]after-42\r\n/, 10_000, interruptAt);
  t.deepEqual(client.offsetProblems, []);
  t.deepEqual(client.undecodable, []);
});

test('Ctrl-C takes effect at once while the client is not reading: the flood stops within what the buffers hold', async (t) => {
  const { client } = await flooding(t);
  client.write('cat /dev/zero | head -c 200000000 | base64\r');
  const stalledAt = await windowFull(client);
  client.write('\x03');
  // The ^C went through while the output was stalled: once the client reads again, only what
  // was already buffered (ring, kernel PTY buffers, the pipe) arrives before the prompt.
  client.autoAck = true;
  client.ack();
  await client.until('the prompt after ^C', () => (PROMPT_RE.test(client.output().subarray(-64).toString('latin1')) ? true : undefined), 20_000);
  const after = client.received - stalledAt;
  t.true(after < 4 * 1024 * 1024, `${after} B arrived after the ^C (an unstopped flood would be 270 MB)`);
  t.log(`${after} B delivered between the stall and the prompt`);
  t.true(client.maxUnacked <= WINDOW);
  t.deepEqual(client.offsetProblems, []);
});

test('a client that acks past what it received is refused (SG_PROTO_OUT_OF_ORDER), and other sessions keep flowing', async (t) => {
  const { gw, client } = await flooding(t);
  const other = await openShell(gw, await gw.token({ user: 'bystander' }));
  client.send({ type: 'ack', offset: client.received + WINDOW });
  const error = await client.error();
  t.is(error.code, 'SG_PROTO_OUT_OF_ORDER');
  t.is((await client.waitClosed()).code, 4409);
  other.write('echo alive-$((1+1))\r');
  await other.waitOutput(/[\r\n]alive-2/);
});
