/**
 * Behaviour: how a sandboxed command ends is how `sandgate run` ends. The command's exit code
 * is the CLI's; death by a signal is 128+signal (shell convention, as the launcher contract
 * says); the JSON report tells which of the two it was.
 */
import test from 'ava';

import { readRunReport } from './support/run-report.js';
import { describeOutcome, fixtureFor } from './support/sandgate-fixture.js';

for (const code of [0, 1, 7, 255]) {
  test(`exit code ${code} of the command is the exit code of sandgate run and the report's`, async (t) => {
    const fixture = fixtureFor(t);
    const report = fixture.reportPath();
    const outcome = await fixture.run(['run', '--json-report', report, '--', '/bin/sh', '-c', `exit ${code}`]);
    t.is(outcome.status, code, describeOutcome(outcome));
    t.like(readRunReport(report), { reason: 'exit', exitCode: code, signal: null, status: code });
  });
}

for (const [signal, status] of [
  ['TERM', 143],
  ['KILL', 137],
] as const) {
  test(`a command killed by SIG${signal} makes sandgate run exit ${status} and the report name the signal`, async (t) => {
    const fixture = fixtureFor(t);
    const report = fixture.reportPath();
    const outcome = await fixture.run(['run', '--json-report', report, '--', '/bin/sh', '-c', `kill -${signal} $$`]);
    t.is(outcome.status, status, describeOutcome(outcome));
    t.is(outcome.signal, null, 'the CLI itself exits, it is not killed');
    t.like(readRunReport(report), { reason: 'signal', exitCode: null, signal: `SIG${signal}`, status });
  });
}

test('a command that is not found exits 127 with a message naming it', async (t) => {
  const fixture = fixtureFor(t);
  const outcome = await fixture.run(['run', '--', 'sgtest-no-such-command']);
  t.is(outcome.status, 127, describeOutcome(outcome));
  t.regex(outcome.stderr.toString('utf8'), /sgtest-no-such-command/);
});

test('a command that cannot be executed exits 126', async (t) => {
  const fixture = fixtureFor(t);
  const outcome = await fixture.run(['run', '--', '/usr']);
  t.is(outcome.status, 126, describeOutcome(outcome));
});
