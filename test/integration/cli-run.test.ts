/**
 * `sandgate run` as a user types it: output passed through, exit status propagated, the
 * --json-report document, and the two refusals (usage 64, spec 65) — each run in a private
 * cgroup cell and TMPDIR (support/sandgate-fixture.ts), checked to leave nothing behind.
 * The wider behaviour (limits, isolation, PTY, signals) lives in the other files here.
 */
import test from 'ava';

import { readRunReport } from './support/run-report.js';
import { describeOutcome, fixtureFor, isClean } from './support/sandgate-fixture.js';

const UID_RANGE = { start: 600_000, count: 65_536 };

test('sandgate run -- echo hi prints hi and exits 0, leaving nothing behind', async (t) => {
  const fixture = fixtureFor(t);
  const outcome = await fixture.run(['run', '--', 'echo', 'hi']);
  t.is(outcome.status, 0, describeOutcome(outcome));
  t.is(outcome.stdout.toString('utf8'), 'hi\n');
  t.is(outcome.stderr.toString('utf8'), '');
  t.deepEqual(fixture.leftovers(), { processes: [], cgroups: [], tmpEntries: [], mountsAdded: [], mountsRemoved: [] });
});

test("the command's exit code 7 is the CLI's exit code", async (t) => {
  const fixture = fixtureFor(t);
  const outcome = await fixture.run(['run', '--', '/bin/sh', '-c', 'exit 7']);
  t.is(outcome.status, 7, describeOutcome(outcome));
  t.true(isClean(fixture.leftovers()));
});

test('--json-report holds exitCode, signal, reason, cpuMs, peakMemoryBytes, wallMs and hostUid', async (t) => {
  const fixture = fixtureFor(t);
  const reportPath = fixture.reportPath();
  const outcome = await fixture.run(['run', '--json-report', reportPath, '--', '/bin/sh', '-c', 'echo to-stderr >&2; exit 3']);
  t.is(outcome.status, 3, describeOutcome(outcome));
  t.is(outcome.stderr.toString('utf8'), 'to-stderr\n');
  const report = readRunReport(reportPath);
  t.like(report, { exitCode: 3, signal: null, reason: 'exit' });
  t.true(report.cpuMs >= 0 && report.wallMs > 0 && report.peakMemoryBytes > 0, JSON.stringify(report));
  t.true(report.hostUid >= UID_RANGE.start && report.hostUid < UID_RANGE.start + UID_RANGE.count, `hostUid ${report.hostUid}`);
});

for (const args of [['run', '--frobnicate', '--', 'true'], ['run', 'echo', 'hi'], ['run', '--']]) {
  test(`a usage error (sandgate ${args.join(' ')}) exits 64 with one line naming SG_USAGE`, async (t) => {
    const fixture = fixtureFor(t);
    fixture.cell.watchCreations();
    const outcome = await fixture.run(args);
    t.is(outcome.status, 64, describeOutcome(outcome));
    t.regex(outcome.stderr.toString('utf8'), /^sandgate run: [^\n]+\[SG_USAGE\][^\n]*\n$/);
    t.is(outcome.stdout.length, 0);
    t.deepEqual(await fixture.cell.createdEntries(), []);
  });
}

test('a bad spec exits 65 with its code and message, before any cgroup is created', async (t) => {
  const fixture = fixtureFor(t);
  fixture.cell.watchCreations();
  const outcome = await fixture.run(['run', '--memory', '1', '--', '/bin/sh', '-c', 'echo ran']);
  t.is(outcome.status, 65, describeOutcome(outcome));
  t.regex(outcome.stderr.toString('utf8'), /^sandgate run: limits\.memoryBytes [^\n]*\[SG_SPEC_INVALID\]\n$/);
  t.is(outcome.stdout.length, 0);
  t.deepEqual(await fixture.cell.createdEntries(), [], 'not even a cgroup made and removed again');
});
