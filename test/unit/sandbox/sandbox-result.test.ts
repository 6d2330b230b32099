import test from 'ava';

import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { parseLauncherReport, type LauncherReport } from '../../../server/sandbox/launcher-report.js';
import { decideSandboxResult, launcherErrorCode, type SandboxEnding } from '../../../server/sandbox/sandbox-result.js';

const USAGE = { cpuUsageNs: 12_500_000, memoryCurrentBytes: 0, memoryPeakBytes: 4_194_304, oomKills: 0, pidsCurrent: 0 };

function report(fields: Partial<LauncherReport>): LauncherReport {
  return { reason: 'exit', exitCode: 0, signal: null, status: 0, hostUid: 600_123, initPid: 4242, wallMs: 12.5, error: null, ...fields };
}

function ending(fields: Partial<SandboxEnding>): SandboxEnding {
  return { launcherExit: { code: 0, signal: null }, report: report({}), usage: USAGE, killedByCaller: false, measuredWallMs: 20, ...fields };
}

test('a command that exits is reason exit, with cpu time in ms, peak memory and the launcher\'s wall time', (t) => {
  const result = decideSandboxResult(ending({ launcherExit: { code: 7, signal: null }, report: report({ exitCode: 7, status: 7 }) }));
  t.like(result, { status: 7, exitCode: 7, signal: null, reason: 'exit', cpuMs: 12.5, peakMemoryBytes: 4_194_304, wallMs: 12.5, hostUid: 600_123 });
  t.is(result.error, undefined);
});

test('a command exiting 200–255 is its own status, not a launcher error: the report decides', (t) => {
  const result = decideSandboxResult(ending({ launcherExit: { code: 203, signal: null }, report: report({ exitCode: 203, status: 203 }) }));
  t.like(result, { status: 203, exitCode: 203, reason: 'exit' });
  t.is(result.error, undefined);
});

test('a launcher step failure maps to its SG_LAUNCH_* code with the launcher\'s message', (t) => {
  const failed = report({ reason: 'launcher_error', exitCode: null, status: 203, hostUid: null, error: { step: 'mounts', exitCode: 203, message: 'mounts: bind /x: No such file or directory' } });
  const result = decideSandboxResult(ending({ launcherExit: { code: 203, signal: null }, report: failed }));
  t.like(result, { status: 203, reason: 'launcher_error', exitCode: null });
  t.true(isSandgateError(result.error, 'SG_LAUNCH_MOUNTS'));
  t.is(result.error?.message, 'mounts: bind /x: No such file or directory');
});

test('a launcher error exit without a report still maps to its code', (t) => {
  const result = decideSandboxResult(ending({ launcherExit: { code: 200, signal: null }, report: undefined }));
  t.true(isSandgateError(result.error, 'SG_LAUNCH_PLAN'));
  t.is(result.reason, 'launcher_error');
});

test('a missing report after a normal exit is SG_LAUNCH_SUPERVISOR (the contract says it is always written)', (t) => {
  const result = decideSandboxResult(ending({ report: undefined }));
  t.true(isSandgateError(result.error, 'SG_LAUNCH_SUPERVISOR'));
});

test('the time limit wins over the SIGKILL it used', (t) => {
  const result = decideSandboxResult(ending({ launcherExit: { code: 137, signal: null }, report: report({ reason: 'time_limit', exitCode: null, signal: 'SIGKILL', status: 137 }) }));
  t.like(result, { reason: 'time_limit', status: 137, signal: 'SIGKILL' });
});

test('death by SIGKILL (or a shell\'s 137) with an OOM kill counted is reason oom; without one it is not', (t) => {
  const oomUsage = { ...USAGE, oomKills: 1 };
  const killed = report({ reason: 'signal', exitCode: null, signal: 'SIGKILL', status: 137 });
  t.is(decideSandboxResult(ending({ launcherExit: { code: 137, signal: null }, report: killed, usage: oomUsage })).reason, 'oom');
  const shell = report({ exitCode: 137, status: 137 });
  t.is(decideSandboxResult(ending({ launcherExit: { code: 137, signal: null }, report: shell, usage: oomUsage })).reason, 'oom');
  t.is(decideSandboxResult(ending({ launcherExit: { code: 137, signal: null }, report: killed })).reason, 'signal');
  const survived = report({ exitCode: 0, status: 0 });
  t.is(decideSandboxResult(ending({ report: survived, usage: oomUsage })).reason, 'exit', 'a shell that survived its child\'s OOM kill');
});

test('a sandbox its owner killed is reason killed; a launcher killed by someone else is SG_LAUNCH_SUPERVISOR', (t) => {
  const byOwner = decideSandboxResult(ending({ launcherExit: { code: null, signal: 'SIGKILL' }, report: undefined, killedByCaller: true }));
  t.like(byOwner, { reason: 'killed', status: 137, signal: 'SIGKILL' });
  t.is(byOwner.error, undefined);
  const bySomeone = decideSandboxResult(ending({ launcherExit: { code: null, signal: 'SIGKILL' }, report: undefined }));
  t.true(isSandgateError(bySomeone.error, 'SG_LAUNCH_SUPERVISOR'));
});

test('every launcher exit code 200–212 has its registry code', (t) => {
  const codes = Array.from({ length: 13 }, (_, index) => launcherErrorCode(200 + index));
  t.deepEqual(codes, [
    'SG_LAUNCH_PLAN', 'SG_LAUNCH_CLONE', 'SG_LAUNCH_USERNS', 'SG_LAUNCH_MOUNTS', 'SG_LAUNCH_PROC_DEV', 'SG_LAUNCH_NET', 'SG_LAUNCH_RLIMITS',
    'SG_LAUNCH_CGROUP', 'SG_LAUNCH_CAPS', 'SG_LAUNCH_FDS_ENV', 'SG_LAUNCH_SECCOMP', 'SG_LAUNCH_EXEC', 'SG_LAUNCH_SUPERVISOR',
  ]);
  t.is(launcherErrorCode(199), undefined);
});

test('the launcher report is parsed field by field; a signal number becomes its name', (t) => {
  const text = '{"version":1,"reason":"signal","exitCode":null,"signal":15,"status":143,"hostUid":600001,"initPid":99,"wallMs":3.250,"error":null}';
  t.deepEqual(parseLauncherReport(text, '/r.json'), {
    reason: 'signal', exitCode: null, signal: 'SIGTERM', status: 143, hostUid: 600001, initPid: 99, wallMs: 3.25, error: null,
  });
  for (const broken of ['', '[]', '{"version":2}', '{"version":1,"reason":"exit","exitCode":"0","status":0,"wallMs":1}', '{"version":1,"reason":"exit","exitCode":0,"status":0,"wallMs":1,"signal":999}']) {
    t.true(isSandgateError(t.throws(() => parseLauncherReport(broken, '/r.json')), 'SG_LAUNCH_SUPERVISOR'), broken);
  }
});
