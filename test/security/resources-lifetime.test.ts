/**
 * SECURITY.md class E — lifetime: kill(-1) reaches only the sandbox, nothing survives the
 * session (daemonised, stopped, signal-ignoring), the time limit ends the whole tree, and
 * output floods neither hang nor grow the CLI. Survivors are looked for on the host, where
 * sandboxed processes have ordinary pids and readable command lines (`pgrep -f MARKER`).
 */
import test from 'ava';

import { isRunning, pollHost, probeProcesses, processesWithMarker, processWait, residentBytes, spawnDecoy } from './helpers/host-processes.js';
import { SG_PROBE } from './helpers/probe-binaries.js';
import { assertHeld, describeRun } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test);

const MiB = 1024 * 1024;
/** Exit status of a command killed by SIGKILL (128 + 9). */
const KILLED_STATUS = 137;
/** Exit status of a command killed by SIGPIPE (128 + 13). */
const SIGPIPE_STATUS = 141;
/** Kernel wait channels of a write blocked on a full pipe or unix socket (the CLI's stdio). */
const BLOCKED_WRITE = /pipe_write|sock_alloc_send_pskb|unix_stream_sendmsg|sk_stream_wait_memory/;
/** Bound on how long a flood may take to end once its reader is gone, ms (generous: the
 * machine is shared; a hang is what this catches). */
const FLOOD_END_BOUND_MS = 15_000;

test('kill(-1, SIGKILL) inside kills only the sandbox\'s own processes: not the host\'s, not another sandbox\'s', async (t) => {
  const decoyMarker = suite.marker('decoy');
  const decoy = spawnDecoy(decoyMarker);
  suite.onCleanup(() => void decoy.kill('SIGKILL'));
  const neighbourMarker = suite.marker('neighbour');
  const neighbour = suite.startProbe('hold', [neighbourMarker, '4242']);
  await neighbour.waitForStdout(/^READY hold /m, 20_000);

  const run = await suite.probe('kill-all');
  assertHeld(t, run, 'kill-all', { kill: 'OK', own_children_killed: '3', init_alive: 'yes' });

  t.true(decoy.pid !== undefined && isRunning(decoy.pid), 'the host decoy survived');
  t.is(probeProcesses(neighbourMarker).length, 1, 'the other sandbox\'s probe survived');
  neighbour.endStdin();
  assertHeld(t, await neighbour.result, 'hold', {});
});

test('daemonised, stopped and signal-ignoring processes are all gone when the command exits', async (t) => {
  const marker = suite.marker('linger');
  const run = await suite.probe('linger', [marker]);
  assertHeld(t, run, 'linger', { started: '3' });
  t.deepEqual(processesWithMarker(marker), [], 'no process with the marker is left on the host');
  t.false(run.pipesHeldOpen, 'no survivor holds the CLI\'s stdout or stderr open');
});

test('the time limit ends the whole tree, reported as "time_limit"', async (t) => {
  const marker = suite.marker('tree');
  const tree = suite.startProbe('linger', [marker, 'block'], { timeLimit: '2s' });
  await tree.waitForStdout(/^READY linger started=3$/m, 20_000);
  t.is(probeProcesses(marker).length, 4, 'positive control: the host sees the probe and its three survivors');
  const run = await tree.result;
  t.is(run.report?.reason, 'time_limit', describeRun(run));
  t.is(run.exitCode, KILLED_STATUS, describeRun(run));
  const wallMs = run.report?.wallMs ?? NaN;
  t.true(wallMs >= 2000 && wallMs < 2000 + 5000, `ended after ${wallMs} ms for a 2 s limit`);
  t.deepEqual(processesWithMarker(marker), [], 'no process of the tree is left on the host');
  t.false(run.pipesHeldOpen, describeRun(run));
});

test('an output flood whose reader goes away ends promptly, with the CLI\'s memory bounded', async (t) => {
  const flood = suite.startProbe('flood', ['65536'], { captureBytes: 64 * 1024, timeoutMs: 60_000 });
  await pollHost('1 MiB of flood on stdout', () => (flood.stdoutBytes >= MiB ? true : undefined), 20_000, () => flood.describe());
  const rss = residentBytes(flood.pid) ?? Infinity;
  t.true(rss < 200 * MiB, `CLI resident memory during the flood: ${(rss / MiB).toFixed(1)} MiB`);
  const closedAt = performance.now();
  flood.destroyStdout();
  const run = await flood.result;
  const endedMs = performance.now() - closedAt;
  t.false(run.timedOut, describeRun(run));
  t.true(endedMs < FLOOD_END_BOUND_MS, `ended ${endedMs.toFixed(0)} ms after the reader left`);
  t.false(run.pipesHeldOpen, describeRun(run));
  // How the writer learns it depends on the CLI's stdio: a pipe gives SIGPIPE (exit 141); a
  // unix socketpair (Node's child stdio) closed with unread data gives ECONNRESET on write
  // (unix(7)), which the probe reports. Either way its write failed and the run ended.
  const killedBySigpipe = run.exitCode === SIGPIPE_STATUS && run.report?.reason === 'signal' && run.report.signal === 'SIGPIPE';
  const writeFailed = run.exitCode === 0 && /^HELD flood write=(EPIPE|ECONNRESET) written=\d+$/m.test(run.stderr);
  t.true(killedBySigpipe || writeFailed, `the flood ended by SIGPIPE or a failed write: ${describeRun(run)}`);
});

test('a flood to a reader that stops reading blocks the writer (backpressure); the CLI\'s memory stays bounded', async (t) => {
  const marker = suite.marker('flood');
  const totalMb = 256;
  const flood = suite.startProbe('flood', [String(totalMb), marker], { captureBytes: 64 * 1024 });
  flood.pauseStdout();
  const writer = await pollHost('the flood process to appear on the host', () => probeProcesses(marker)[0], 20_000);
  const blocked = await pollHost(
    'the flood writer to block in its write (pipe or socket buffer full)',
    () => {
      const wait = processWait(writer);
      return wait !== undefined && wait.state === 'S' && BLOCKED_WRITE.test(wait.wchan) ? wait : undefined;
    },
    20_000,
    () => JSON.stringify(processWait(writer)),
  );
  const rss = residentBytes(flood.pid) ?? Infinity;
  t.true(rss < 200 * MiB, `CLI resident memory while the reader is paused: ${(rss / MiB).toFixed(1)} MiB (${blocked.wchan})`);
  flood.resumeStdout();
  const run = await flood.result;
  t.is(run.exitCode, 0, describeRun(run));
  t.is(run.stdoutBytes, totalMb * MiB, 'every byte arrived once the reader resumed');
  t.regex(run.stderr, /HELD flood written=\d+/);
});

test('a flood on the session terminal (--tty) to a reader that stops reading blocks the writer; the CLI stays bounded', async (t) => {
  const marker = suite.marker('ttyflood');
  const totalMb = 64;
  const session = suite.startPty([SG_PROBE, 'flood', String(totalMb), marker]);
  session.pause();
  const writer = await pollHost('the flood process to appear on the host', () => probeProcesses(marker)[0], 20_000);
  await pollHost(
    'the flood writer to block on the full terminal',
    () => {
      const wait = processWait(writer);
      return wait !== undefined && wait.state === 'S' && /n_tty_write|tty_write|wait_woken/.test(wait.wchan) ? wait : undefined;
    },
    20_000,
    () => JSON.stringify(processWait(writer)),
  );
  const rss = residentBytes(session.pid) ?? Infinity;
  t.true(rss < 200 * MiB, `CLI resident memory while the terminal is not read: ${(rss / MiB).toFixed(1)} MiB`);
  session.resume();
  const run = await session.result;
  t.is(run.exitCode, 0, `terminal received ${run.receivedBytes} bytes`);
  // The flood resumed and ran to its end. (Not byte-exact: node-pty on this side may report
  // the exit before it delivers the last chunk of the master's buffer.)
  t.true(run.receivedBytes >= (totalMb - 1) * MiB, `the flood resumed and finished (${run.receivedBytes} bytes)`);
});
