/**
 * The input limits of a session end to end (docs/protocol.md, "Flow control" and "Errors and
 * closes"; server/session/session-input.ts): control frames over `controlFramesPerSecond` get
 * a non-fatal SG_INPUT_RATE and change nothing, while the session goes on; stdin is paced to
 * `stdinBytesPerSecond` by the stdin acknowledgements, and every byte still arrives.
 */
import test, { type ExecutionContext } from 'ava';

import { startGatewayHarness, type GatewayHarness, type TestClient } from '../../helpers/gateway-harness.js';
import { within } from '../support/wait-until.js';

const SHELL = { kind: 'pty', argv: ['/bin/bash', '--norc', '--noprofile', '-i'], cols: 80, rows: 24, env: { PS1: 'sg$ ' } } as const;
const PROMPT = /sg\$ $/;

/** Waits until every session of the gateway is gone, then checks that no lease is left. */
async function released(t: ExecutionContext, gw: GatewayHarness): Promise<void> {
  await within('every session released', 15_000, gw.host.idle());
  t.deepEqual(await gw.store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 0, user: 0 }, 'no lease is left');
}

function rateErrors(client: TestClient): number {
  return client.frames.filter((frame) => frame.type === 'error' && frame.code === 'SG_INPUT_RATE').length;
}

test('control frames over controlFramesPerSecond get a non-fatal SG_INPUT_RATE and are not applied; the session goes on', async (t) => {
  // One frame a second after a burst of 3: the burst below is all sent in one go, so every
  // frame after the third is refused unless a whole second passes meanwhile (checked below).
  const burst = 3;
  const gw = await startGatewayHarness(t, { layer: { controlFramesPerSecond: 1, controlBurstFrames: burst } });
  const client = await gw.connect();
  await client.open(SHELL);
  await client.waitForOutput(PROMPT);

  const sentAt = performance.now();
  client.resize(81, 25);
  client.resize(82, 26);
  client.resize(83, 27); // the last one the burst allows
  const refusable = 7;
  for (let i = 0; i < refusable; i += 1) {
    if (i % 2 === 0) client.resize(90 + i, 30 + i);
    else client.signal('WINCH');
  }
  // The gateway handles frames in order: by the time `stty size` prints, every refusal is here.
  const from = client.text().length;
  client.write('stty size\r');
  const size = await client.waitFor('the output of stty size', () => /[\r\n](\d+) (\d+)\r\n/.exec(client.text().slice(from)) ?? undefined);
  const spanMs = performance.now() - sentAt;

  const refused = rateErrors(client);
  const errors = client.frames.filter((frame) => frame.type === 'error');
  t.true(errors.length > 0 && errors.every((frame) => frame.code === 'SG_INPUT_RATE' && !frame.fatal), 'every refusal is a non-fatal SG_INPUT_RATE');
  if (spanMs < 1000) {
    // No token was refilled while the frames were handled: exactly the burst went through.
    t.is(refused, refusable);
    t.deepEqual([size[1], size[2]], ['27', '83'], 'the size is the last resize within the burst; the refused ones changed nothing');
  } else {
    // A stalled machine: at most one more frame per second passed.
    t.log(`the burst took ${spanMs.toFixed(0)} ms to be answered; checking the bound only`);
    t.true(refused <= refusable && refused >= refusable - Math.floor(spanMs / 1000), `${refused} refused of ${refusable}`);
  }

  // The session is usable afterwards.
  client.write('echo after-$((6*7))\r');
  await client.waitForOutput(/[\r\n]after-42\r\n/);
  t.is(client.closed, undefined, 'the connection is still open');
  client.write('exit\r');
  t.like(await client.waitForExit(), { code: 0, reason: 'exited' });
  t.is((await client.waitForClose()).code, 1000);
  t.deepEqual(client.violations, [], 'every frame from the gateway keeps the protocol rules');
  await released(t, gw);
});

test('stdin is paced to stdinBytesPerSecond: acknowledgements never run ahead of the rate, and wc -c counts every byte', async (t) => {
  const rate = 64 * 1024;
  const window = 16 * 1024;
  const total = 128 * 1024 + 1000;
  // The pace is a token bucket that starts full (input-limiter.ts): stdinBurstBytes are written
  // at once, then `rate` bytes per second. With the burst set to the stdin window, that is the
  // bound the protocol suggests: stdinWindowBytes + stdinBytesPerSecond × elapsed. (With the
  // default burst, 64 KiB, and this 16 KiB window, the first 64 KiB are acknowledged at once,
  // above that bound: protocol.md does not mention the burst.)
  const gw = await startGatewayHarness(t, {
    config: { stdinBytesPerSecond: rate, stdinWindowBytes: window, maxDataFrameBytes: 8192 },
    layer: { stdinBurstBytes: window },
  });
  const client = await gw.connect();
  const hello = await client.open({ kind: 'exec', argv: ['wc', '-c'] });
  t.like(hello.limits, { stdinBytesPerSecond: rate, stdinWindowBytes: window });

  // The gateway runs in this process and paces with the same clock (performance.now), and it
  // can write nothing before the first byte is sent: when an acknowledgement is seen, what it
  // covers was written by then, so it is at most window + rate × (time since the first send).
  // 2 ms of slack for the bucket's whole-millisecond clock. Only this upper bound is checked:
  // a loaded machine may be slower than the rate, never faster.
  const overruns: string[] = [];
  let samples = 0;
  let worst = 0;
  const startedAt = performance.now();
  const bound = (atMs: number): number => window + Math.ceil((rate * (atMs - startedAt + 2)) / 1000);
  client.write(Buffer.alloc(total, 0x61));
  client.closeStdin();
  await client.waitFor('every stdin byte acknowledged', () => {
    const at = performance.now();
    const acked = client.conversation.stdinAcked;
    samples += 1;
    worst = Math.max(worst, acked / bound(at));
    if (acked > bound(at)) overruns.push(`${acked} acknowledged ${(at - startedAt).toFixed(1)} ms after the first byte (bound ${bound(at)})`);
    return acked >= total ? acked : undefined;
  }, 30_000);
  const elapsedMs = performance.now() - startedAt;

  t.deepEqual(overruns, [], 'no acknowledgement ran ahead of stdinWindowBytes + stdinBytesPerSecond × elapsed');
  const exit = await client.waitForExit();
  t.like(exit, { code: 0, reason: 'exited' });
  t.is(client.text('stdout').trim(), String(total), 'wc -c counted every byte sent');
  t.is(client.conversation.stdinAcked, total);
  t.deepEqual(client.violations, [], 'every frame from the gateway keeps the protocol rules');
  t.log(`${total} bytes acknowledged in ${elapsedMs.toFixed(0)} ms (${samples} samples, at most ${(worst * 100).toFixed(0)} % of the bound)`);
  await released(t, gw);
});
