/**
 * The `exit` frame's `usage` (docs/protocol.md "exit": `cpuMs`, `peakMemoryBytes`, `wallMs`,
 * integers, the whole sandbox) measures what the command really did: a command that touches
 * 60 MB reports a peak of at least that, `true` far less; a command that has used 200 ms of
 * CPU by its own clock reports at least that much. Over the in-process harness (real gateway,
 * real sandboxes). python3 is the host's /usr/bin/python3, seen read-only in the sandbox.
 */
import test from 'ava';

import type { ExitFrame } from '../../../client-sdk/src/protocol/index.js';
import { startGatewayHarness, type GatewayHarness } from '../../helpers/gateway-harness.js';

const PYTHON = '/usr/bin/python3';
/** bytearray(n) zero-fills its buffer, so every page is touched: resident, charged to the sandbox's memory cgroup. */
const ALLOCATED_BYTES = 60_000_000;
/** CPU the burner spends by its own process clock (time.process_time, user + system), ms. */
const BURN_MS = 200;

async function exitOf(gw: GatewayHarness, user: string, argv: string[]): Promise<ExitFrame> {
  const client = await gw.connect({ token: gw.token({ user }) });
  await client.open({ kind: 'exec', argv });
  const exit = await client.waitForExit();
  if (client.violations.length > 0) throw new Error(`protocol violations: ${client.violations.join('; ')}`);
  return exit;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

test('exit usage: 60 MB allocated shows as a peak of at least 60 MB, `true` peaks far lower; 200 ms of CPU burnt shows as cpuMs ≥ 200', async (t) => {
  const gw = await startGatewayHarness(t);
  const [allocator, trivial, burner] = await Promise.all([
    exitOf(gw, 'alloc', [PYTHON, '-c', `x = bytearray(${ALLOCATED_BYTES}); print(len(x))`]),
    exitOf(gw, 'trivial', ['true']),
    exitOf(gw, 'burner', [PYTHON, '-c', `import time\nt = time.process_time()\nwhile time.process_time() - t < ${BURN_MS / 1000}: pass`]),
  ]);
  t.log({ allocator: allocator.usage, trivial: trivial.usage, burner: burner.usage });
  for (const exit of [allocator, trivial, burner]) {
    t.like(exit, { code: 0, reason: 'exited' }, JSON.stringify(exit));
    t.true(isCount(exit.usage.cpuMs) && isCount(exit.usage.peakMemoryBytes) && isCount(exit.usage.wallMs), `usage are integer counts: ${JSON.stringify(exit.usage)}`);
  }

  t.true(allocator.usage.peakMemoryBytes >= ALLOCATED_BYTES, `peak ${allocator.usage.peakMemoryBytes} B after allocating ${ALLOCATED_BYTES} B`);
  // The limit is 256 MiB by default: a peak beyond it would not be this sandbox's figure.
  t.true(allocator.usage.peakMemoryBytes <= gw.config.limits.memoryBytes, `peak ${allocator.usage.peakMemoryBytes} B within the ${gw.config.limits.memoryBytes} B limit`);
  t.true(trivial.usage.peakMemoryBytes < ALLOCATED_BYTES / 4, `\`true\` peaks at ${trivial.usage.peakMemoryBytes} B`);
  t.true(trivial.usage.peakMemoryBytes < allocator.usage.peakMemoryBytes);

  t.true(burner.usage.cpuMs >= BURN_MS, `cpuMs ${burner.usage.cpuMs} after ${BURN_MS} ms of CPU by the process's own clock`);
  t.true(burner.usage.cpuMs > trivial.usage.cpuMs, `burner ${burner.usage.cpuMs} ms, \`true\` ${trivial.usage.cpuMs} ms`);
  // One busy thread under a 1-core quota cannot use more CPU than wall-clock time (plus rounding).
  t.true(burner.usage.wallMs + 1 >= burner.usage.cpuMs / gw.config.limits.cpuCores * 0.9, `wallMs ${burner.usage.wallMs}, cpuMs ${burner.usage.cpuMs}`);
});
