/**
 * Behaviour: two sandboxes running at the same time share nothing a user can see: each has
 * its own /tmp and its own pid namespace. Both are alive while each one looks.
 */
import test from 'ava';

import { describeOutcome, fixtureFor, RUN_TIMEOUT_MS } from './support/sandgate-fixture.js';

/** Leaves a file named after its marker in /tmp, then lists /tmp and the processes on cue. */
const LOOK_AROUND_SCRIPT = String.raw`
echo "$1" > "/tmp/$1"
echo ready
read go
echo "tmp=$(ls -A /tmp | tr '\n' ' ')"
ps -eo pid=,args=
echo listed
read done
`;

test('two sandboxes at once see neither the other one\'s files in /tmp nor its processes', async (t) => {
  const fixture = fixtureFor(t);
  const markers = [fixture.marker('A'), fixture.marker('B')] as const;
  const sandboxes = markers.map((marker) => fixture.start(['run', '--', '/bin/bash', '-c', LOOK_AROUND_SCRIPT, 'sgtest', marker]));
  for (const sandbox of sandboxes) await sandbox.waitForStdout(/^ready$/m, RUN_TIMEOUT_MS);
  // Both are running; each looks around while the other waits on its stdin.
  for (const sandbox of sandboxes) {
    sandbox.write('go\n');
    await sandbox.waitForStdout(/^listed$/m, RUN_TIMEOUT_MS);
  }
  for (const sandbox of sandboxes) sandbox.endStdin('done\n');
  const outcomes = await Promise.all(sandboxes.map((sandbox) => sandbox.finished(RUN_TIMEOUT_MS)));

  outcomes.forEach((outcome, index) => {
    const own = markers[index] ?? '';
    const other = markers[1 - index] ?? '';
    const stdout = outcome.stdout.toString('utf8');
    t.is(outcome.status, 0, describeOutcome(outcome));
    t.regex(stdout, new RegExp(`^tmp=${own} $`, 'm'), `sandbox ${index} sees only its own file in /tmp`);
    t.true(stdout.includes(`sgtest ${own}`), `sandbox ${index} sees its own shell in ps (positive control)`);
    t.false(stdout.includes(other), `sandbox ${index} sees nothing of the other one: ${stdout}`);
  });
});
