import test from 'ava';

import { SandgateError } from '../../../server/errors/sandgate-error.js';
import type { SandboxResult } from '../../../server/sandbox/sandbox-result.js';
import { exitSignalName, sessionEndOf, usageOf } from '../../../server/session/exit-status.js';

function result(fields: Partial<SandboxResult>): SandboxResult {
  return { status: 0, exitCode: 0, signal: null, reason: 'exit', cpuMs: 12.4, peakMemoryBytes: 4096, oomKills: 0, wallMs: 50.6, hostUid: 600_001, ...fields };
}

test('an exit is reported with its code and reason exited; usage is whole numbers', (t) => {
  const end = sessionEndOf(result({ status: 3, exitCode: 3 }), { clientKilled: false });
  t.deepEqual(end.status, { code: 3, signal: null, reason: 'exited', usage: { cpuMs: 12, peakMemoryBytes: 4096, wallMs: 51 } });
  t.is(end.failure, undefined);
});

test('a death by a named signal is reported by name, reason signaled', (t) => {
  t.is(exitSignalName('SIGTERM'), 'TERM');
  t.is(exitSignalName(null), undefined);
  const end = sessionEndOf(result({ status: 143, exitCode: null, signal: 'SIGTERM', reason: 'signal' }), { clientKilled: false });
  t.like(end.status, { code: null, signal: 'TERM', reason: 'signaled' });
});

test('a signal without a protocol name is reported as its status code, the shell convention', (t) => {
  const end = sessionEndOf(result({ status: 162, exitCode: null, signal: null, reason: 'signal' }), { clientKilled: false });
  t.like(end.status, { code: 162, signal: null, reason: 'signaled' });
});

test('the sandbox layer names the limits: time_limit and oom', (t) => {
  t.like(sessionEndOf(result({ status: 137, exitCode: null, signal: 'SIGKILL', reason: 'time_limit' }), { clientKilled: false }).status, { signal: 'KILL', reason: 'time-limit' });
  t.like(sessionEndOf(result({ status: 137, exitCode: null, signal: 'SIGKILL', reason: 'oom' }), { clientKilled: false }).status, { signal: 'KILL', reason: 'memory-limit' });
});

test('a kill by the gateway leaves the reason to the session; the client\'s own KILL is signaled KILL', (t) => {
  const byGateway = sessionEndOf(result({ status: 137, exitCode: null, signal: 'SIGKILL', reason: 'killed' }), { clientKilled: false });
  t.is(byGateway.status.reason, undefined);
  t.is(byGateway.status.signal, 'KILL');
  const byClient = sessionEndOf(result({ status: 0, exitCode: null, signal: null, reason: 'killed' }), { clientKilled: true });
  t.like(byClient.status, { code: null, signal: 'KILL', reason: 'signaled' });
});

test('a launcher failure exits with the launcher status and carries its registry code', (t) => {
  const error = new SandgateError('SG_LAUNCH_MOUNTS', 'mounts: bind /nope: No such file or directory');
  const end = sessionEndOf(result({ status: 203, exitCode: null, reason: 'launcher_error', error }), { clientKilled: false });
  t.like(end.status, { code: 203, signal: null, reason: 'exited' });
  t.deepEqual(end.failure, { code: 'SG_LAUNCH_MOUNTS', message: error.message });
});

test('usage never goes negative or fractional', (t) => {
  t.deepEqual(usageOf({ cpuMs: -1, peakMemoryBytes: Number.NaN, wallMs: 0.4 }), { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 });
});
