/**
 * Behaviour: the limits of a run end it as a whole and say so. The time limit kills the whole
 * tree, grandchildren included (reason `time_limit`, status 137); running out of memory is
 * reported as `oom`, not as a plain SIGKILL.
 */
import test from 'ava';

import { processesWithMarker } from './support/host-processes.js';
import { readRunReport } from './support/run-report.js';
import { describeOutcome, fixtureFor, isClean, RUN_TIMEOUT_MS } from './support/sandgate-fixture.js';
import { waitUntil } from './support/wait-until.js';

const MIB = 1024 * 1024;

/** A background grandchild named `<marker>-grandchild` that writes its marker every 100 ms. */
const GRANDCHILD_SCRIPT = String.raw`
( exec -a "$1-grandchild" /bin/bash -c 'while :; do echo "$0-tick"; sleep 0.1; done' "$1" & )
sleep 1000
`;

test('the time limit ends the whole tree with reason time_limit and status 137', async (t) => {
  const fixture = fixtureFor(t);
  const marker = fixture.marker('limit');
  const report = fixture.reportPath();
  const cli = fixture.start(['run', '--time-limit', '1s', '--json-report', report, '--', '/bin/bash', '-c', GRANDCHILD_SCRIPT, 'sgtest', marker]);
  await cli.waitForStdout(new RegExp(`^${marker}-tick$`, 'm'), RUN_TIMEOUT_MS);
  const grandchildren = await waitUntil(
    'the grandchild to show on the host',
    () => {
      const found = processesWithMarker(marker).filter((p) => p.argv[0] === `${marker}-grandchild`);
      return found.length === 1 ? { done: true, value: found } : { done: false, state: JSON.stringify(found) };
    },
    { timeoutMs: 5_000 },
  );
  t.is(grandchildren.length, 1);

  const outcome = await cli.finished(RUN_TIMEOUT_MS);
  t.is(outcome.status, 137, describeOutcome(outcome));
  const result = readRunReport(report);
  t.is(result.reason, 'time_limit');
  t.true(result.wallMs >= 1000, `wallMs ${result.wallMs} is not before the limit`);
  t.true(result.wallMs < 10_000, `wallMs ${result.wallMs}`);
  const leftovers = fixture.leftovers();
  t.true(isClean(leftovers), JSON.stringify(leftovers, null, 2));
});

// tail buffers its last 10 lines, and /dev/zero has no newline: it grows until the limit.
for (const [what, command] of [
  ['a memory hog in a pipeline', ['/bin/sh', '-c', 'head -c 100M /dev/zero | tail']],
  ['a memory hog that is the command itself', ['tail', '/dev/zero']],
] as const) {
  test(`${what} under --memory 32M is reported as oom`, async (t) => {
    const fixture = fixtureFor(t);
    const report = fixture.reportPath();
    const outcome = await fixture.run(['run', '--memory', '32M', '--json-report', report, '--', ...command]);
    t.is(outcome.status, 137, describeOutcome(outcome));
    const result = readRunReport(report);
    t.is(result.reason, 'oom');
    t.true(result.peakMemoryBytes > 16 * MIB && result.peakMemoryBytes <= 32 * MIB, `peakMemoryBytes ${result.peakMemoryBytes}`);
    const leftovers = fixture.leftovers();
    t.true(isClean(leftovers), JSON.stringify(leftovers, null, 2));
  });
}
