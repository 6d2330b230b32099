/**
 * Behaviour: a run owns its processes, cgroups, mounts and temporary files, and releases all
 * of them when it ends — when the command exits, and also when the CLI is SIGKILLed mid-run
 * (the launcher notices its caller is gone, kills the sandbox and removes the cgroups).
 *
 * Every check first proves it can see the thing it later proves gone (positive control): the
 * sandbox's processes on the host, and its cgroups inside the fixture's cell.
 */
import test, { type ExecutionContext } from 'ava';

import { cgroupHierarchiesOf } from './support/cgroup-cell.js';
import {
  descendantsOf,
  executableOf,
  identify,
  isAlive,
  processesWithMarker,
  type ProcessIdentity,
} from './support/host-processes.js';
import {
  describeOutcome,
  fixtureFor,
  isClean,
  LAUNCHER_PATH,
  RUN_TIMEOUT_MS,
  type SandgateFixture,
} from './support/sandgate-fixture.js';
import { waitUntil } from './support/wait-until.js';

/** Starts long-lived orphans named `<marker>-orphan`, says ready, exits on a line of stdin. */
const LONG_LIVED_SCRIPT = String.raw`
for i in 1 2 3; do ( exec -a "$1-orphan" sleep 1000 & ); done
echo ready
read go
`;

/**
 * Waits until the three orphans run on the host, then checks that they sit in cgroups inside
 * the cell (the premise of every cgroup check here) and returns those cgroups.
 */
async function sandboxCgroups(t: ExecutionContext, fixture: SandgateFixture, marker: string): Promise<string[]> {
  const orphans = await waitUntil(
    'the three orphans to show on the host',
    () => {
      const found = processesWithMarker(`${marker}-orphan`).filter((p) => p.argv[0] === `${marker}-orphan`);
      return found.length === 3 ? { done: true, value: found } : { done: false, state: JSON.stringify(found) };
    },
    { timeoutMs: 5_000 },
  );
  const dirs = new Set<string>();
  for (const orphan of orphans) {
    for (const hierarchy of cgroupHierarchiesOf(orphan.pid)) {
      if (hierarchy.controllers === 'memory' || hierarchy.controllers === 'pids') {
        t.true(fixture.cell.contains(hierarchy.dir), `${hierarchy.controllers} cgroup ${hierarchy.dir} is not below the cell`);
        dirs.add(hierarchy.dir);
      }
    }
  }
  t.true(dirs.size >= 2, `sandbox cgroups found: ${[...dirs].join(' ')}`);
  t.true(fixture.cell.descendants().length > 0);
  return [...dirs];
}

test('a finished run leaves no process, cgroup, mount or temporary file behind', async (t) => {
  const fixture = fixtureFor(t);
  const marker = fixture.marker('life');
  const cli = fixture.start(['run', '--', '/bin/bash', '-c', LONG_LIVED_SCRIPT, 'sgtest', marker]);
  await cli.waitForStdout(/^ready$/m, RUN_TIMEOUT_MS);
  await sandboxCgroups(t, fixture, marker);

  cli.endStdin('go\n');
  const outcome = await cli.finished(RUN_TIMEOUT_MS);
  t.is(outcome.status, 0, describeOutcome(outcome));
  // The CLI returns only after the launcher has reaped the sandbox and it has removed its
  // cgroups: nothing may be left at this point, no settling time.
  const leftovers = fixture.leftovers();
  t.true(isClean(leftovers), JSON.stringify(leftovers, null, 2));
});

test('SIGKILL of the CLI mid-run ends the sandbox and removes its cgroups and files', async (t) => {
  const fixture = fixtureFor(t);
  const marker = fixture.marker('kill');
  const cli = fixture.start(['run', '--', '/bin/bash', '-c', LONG_LIVED_SCRIPT, 'sgtest', marker]);
  await cli.waitForStdout(/^ready$/m, RUN_TIMEOUT_MS);
  await sandboxCgroups(t, fixture, marker);
  const launchers: ProcessIdentity[] = descendantsOf(cli.pid)
    .filter((pid) => executableOf(pid) === LAUNCHER_PATH)
    .flatMap((pid) => identify(pid) ?? []);
  t.is(launchers.length, 1, `launchers below the CLI pid ${cli.pid}: ${JSON.stringify(launchers)}`);

  cli.kill('SIGKILL');
  t.deepEqual(await cli.exited, { status: null, signal: 'SIGKILL' });

  const leftovers = await waitUntil(
    'the launcher to exit and the sandbox to be cleaned up after its caller died',
    () => {
      const now = fixture.leftovers();
      const launchersAlive = launchers.filter(isAlive);
      return isClean(now) && launchersAlive.length === 0
        ? { done: true, value: now }
        : { done: false, state: JSON.stringify({ launchersAlive, ...now }) };
    },
    { timeoutMs: 10_000 },
  );
  t.true(isClean(leftovers));
});
