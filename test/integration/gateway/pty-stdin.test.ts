/**
 * Bounded PTY input (docs/protocol.md "Flow control", STYLE.md rule 5): a stdin-ack means the
 * terminal has the bytes, so a program that does not read its terminal stops the client's
 * stdin at one window: the gateway holds at most `stdinWindowBytes` of it, however much the
 * client offers, and waiting on the full terminal costs no CPU. Once the program reads, the
 * held input flows on to the last byte.
 */
import test from 'ava';

import { stdinCredit } from '../../../client-sdk/src/protocol/index.js';
import { startGatewayHarness, type TestClient } from '../../helpers/gateway-harness.js';
import { observe } from '../../helpers/gateway-under-test.js';

const WINDOW = 64 * 1024;
/** Offered stdin: lines, so that the terminal's line buffer fills with whole lines and stops taking more. */
const OFFERED = Buffer.from(`${'x'.repeat(63)}\n`.repeat((4 * 1024 * 1024) / 64));
/** What the kernel may hold of a terminal's input (about 20 KiB measured here), with room to spare. */
const KERNEL_INPUT_BOUND = 256 * 1024;
/** The measurement period while the input is stalled, ms. */
const STALL_MS = 1500;
/** CPU the gateway process may use over STALL_MS, µs: a retry loop at full speed would use all of it. */
const STALL_CPU_BOUND_US = 0.15 * STALL_MS * 1000;
/**
 * Does not read its terminal while it sleeps; on SIGUSR1 becomes `cat`, which reads it all.
 * The background sleep's stdin is /dev/null (an async list of a non-interactive shell).
 */
const SLEEPER = ['sh', '-c', 'trap "exec cat >/dev/null" USR1; sleep 100 & wait'];

function stdinAcked(client: TestClient): number {
  return client.conversation.stdinAcked;
}

/** Waits until the stdin window is spent and no stdin-ack comes for a while: the terminal is full. */
async function stalled(client: TestClient): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    await client.waitFor('a spent stdin window', () => (stdinCredit(client.conversation) === 0 ? true : undefined), 20_000);
    const acked = stdinAcked(client);
    await observe(200);
    if (stdinAcked(client) === acked && stdinCredit(client.conversation) === 0) return;
  }
  throw new Error(`the stdin never stalled: ${stdinAcked(client)} B acknowledged`);
}

test('a PTY program that never reads its terminal holds the client at one stdin window, without spinning, and reading releases it all', async (t) => {
  const gw = await startGatewayHarness(t, { config: { stdinWindowBytes: WINDOW, idleTimeoutMs: 0 } });
  const client = await gw.connect();
  await client.open({ kind: 'pty', argv: SLEEPER, cols: 80, rows: 24 });
  client.write(OFFERED);
  await stalled(client);

  const ackedAtStall = stdinAcked(client);
  const cpuBefore = process.cpuUsage();
  await observe(STALL_MS);
  const cpu = process.cpuUsage(cpuBefore);
  const held = client.conversation.stdinOffset - stdinAcked(client);
  t.log(`stalled: ${ackedAtStall} B in the terminal, ${held} B held by the gateway, ${OFFERED.length - client.conversation.stdinOffset} B still with the client; gateway CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms over ${STALL_MS} ms`);
  t.is(stdinAcked(client), ackedAtStall, 'no stdin-ack while the terminal is full');
  t.true(ackedAtStall < KERNEL_INPUT_BOUND, `${ackedAtStall} B acknowledged: only what the terminal took`);
  t.true(held <= WINDOW, `the gateway holds ${held} B of stdin, the window is ${WINDOW} B`);
  t.true(cpu.user + cpu.system < STALL_CPU_BOUND_US, `the gateway used ${cpu.user + cpu.system} µs of CPU waiting on a full terminal`);

  client.signal('USR1');
  await client.waitFor('every stdin byte acknowledged', () => (stdinAcked(client) === OFFERED.length ? true : undefined), 60_000);
  client.write('\x04'); // at the start of a line: EOF for cat
  const exit = await client.waitForExit(20_000);
  t.like(exit, { code: 0, reason: 'exited' });
  t.deepEqual(client.violations, []);
});
