/**
 * Behaviour: the sandbox's PID 1 (sandgate-init) reaps every orphan, so a command that
 * double-forks leaves no zombie inside; and whatever is still running when the command exits
 * dies with the sandbox, on the host too.
 */
import test from 'ava';

import { processesWithMarker } from './support/host-processes.js';
import { describeOutcome, fixtureFor, isClean, RUN_TIMEOUT_MS } from './support/sandgate-fixture.js';
import { waitUntil } from './support/wait-until.js';

/**
 * Double-forks 20 children that exit at once (each is orphaned to PID 1, alive or already a
 * zombie), then waits until every one of their pids is gone from /proc — a zombie keeps its
 * /proc entry until its parent reaps it, so this ends only if init reaps. Then it lists the
 * process table, and leaves three long-lived orphans behind, checking that their parent is 1.
 */
const DOUBLE_FORK_SCRIPT = String.raw`
set -u
marker=$1
: > /tmp/orphans
for i in $(seq 1 20); do
  ( ( exit 0 ) & echo $! >> /tmp/orphans )
done
for pid in $(cat /tmp/orphans); do
  tries=0
  while [ -e /proc/$pid ]; do
    tries=$((tries + 1))
    if [ $tries -gt 1000 ]; then echo "unreaped $pid: $(cat /proc/$pid/stat)"; exit 1; fi
    sleep 0.01
  done
done
echo "reaped=$(wc -l < /tmp/orphans)"
ps -eo pid=,ppid=,stat=,args= > /tmp/ps
echo "zombies=$(awk '$3 ~ /^Z/' /tmp/ps | wc -l)"
for i in 1 2 3; do
  ( exec -a "$marker-orphan" sleep 1000 & echo $! > /tmp/sleeper-$i )
  echo "sleeper-ppid=$(ps -o ppid= -p $(cat /tmp/sleeper-$i) | tr -d ' ')"
done
echo ready
read go
`;

test('orphans are reaped by the sandbox init and no zombie shows in ps while the command runs', async (t) => {
  const fixture = fixtureFor(t);
  const marker = fixture.marker('reap');
  const cli = fixture.start(['run', '--', '/bin/bash', '-c', DOUBLE_FORK_SCRIPT, 'sgtest', marker]);
  await cli.waitForStdout(/^ready$/m, RUN_TIMEOUT_MS);
  const report = cli.stdout.toString('utf8');
  t.regex(report, /^reaped=20$/m);
  t.regex(report, /^zombies=0$/m);
  t.deepEqual(report.match(/^sleeper-ppid=.*$/gm), ['sleeper-ppid=1', 'sleeper-ppid=1', 'sleeper-ppid=1']);

  // The orphans are real host processes while the sandbox runs…
  await waitUntil(
    'the three orphans to show on the host',
    () => {
      const orphans = processesWithMarker(`${marker}-orphan`).filter((p) => p.argv[0] === `${marker}-orphan`);
      return orphans.length === 3 ? { done: true, value: orphans } : { done: false, state: JSON.stringify(orphans) };
    },
    { timeoutMs: 5_000 },
  );
  // …and gone, with everything else, once the command exits.
  cli.endStdin('go\n');
  const outcome = await cli.finished(RUN_TIMEOUT_MS);
  t.is(outcome.status, 0, describeOutcome(outcome));
  const leftovers = fixture.leftovers();
  t.true(isClean(leftovers), JSON.stringify(leftovers, null, 2));
});
