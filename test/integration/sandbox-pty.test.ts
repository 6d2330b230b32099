/**
 * Behaviour: with --tty the command gets a real terminal: `tty` names it, bash has job
 * control, Ctrl-C and Ctrl-Z reach the foreground job (not the shell, not the CLI), and the
 * window size follows the host terminal.
 *
 * Keystrokes are sent only once the host's /proc shows their target in the terminal's
 * foreground process group, and each command prints a computed value (`$((6*7))`), so the
 * echo of the typed line never matches the pattern waited for.
 */
import test, { type ExecutionContext } from 'ava';

import { argvOf, descendantsOf, isInForeground } from './support/host-processes.js';
import type { PtySession } from './support/pty-session.js';
import { fixtureFor, RUN_TIMEOUT_MS } from './support/sandgate-fixture.js';
import { waitUntil } from './support/wait-until.js';

const PROMPT = /sg-prompt\$ /;
const STEP_TIMEOUT_MS = 10_000;

/** An interactive bash in a sandbox on a fresh host PTY, at its first prompt. */
async function startShell(t: ExecutionContext, size = { cols: 80, rows: 24 }): Promise<PtySession> {
  const fixture = fixtureFor(t);
  const term = fixture.startPty(
    ['run', '--tty', '--env', 'PS1=sg-prompt$ ', '--', '/bin/bash', '--norc', '--noprofile', '-i'],
    size,
  );
  await term.expect(PROMPT, RUN_TIMEOUT_MS);
  t.notRegex(term.transcript, /no job control|cannot set terminal process group/, 'bash got a controlling terminal');
  return term;
}

/** Types `line`, waits for `expected` in the output, then for the next prompt. */
async function command(term: PtySession, line: string, expected: RegExp): Promise<RegExpExecArray> {
  term.write(`${line}\r`);
  const match = await term.expect(expected, STEP_TIMEOUT_MS);
  await term.expect(PROMPT, STEP_TIMEOUT_MS);
  return match;
}

/** Waits until a process of the run with exactly `argv` leads the terminal's foreground group. */
async function foregroundProcess(term: PtySession, argv: readonly string[]): Promise<number> {
  return waitUntil(
    `${argv.join(' ')} to run in the terminal's foreground`,
    () => {
      const match = descendantsOf(term.pid).find((pid) => argvOf(pid).join(' ') === argv.join(' '));
      if (match !== undefined && isInForeground(match)) return { done: true, value: match };
      return { done: false, state: match === undefined ? 'not started' : `pid ${match} in the background` };
    },
    { timeoutMs: STEP_TIMEOUT_MS },
  );
}

async function exitShell(t: ExecutionContext, term: PtySession, code = 0): Promise<void> {
  term.write(`exit ${code}\r`);
  const exit = await term.waitForExit(STEP_TIMEOUT_MS);
  t.is(exit.exitCode, code, term.transcript.slice(-400));
}

test('tty inside a --tty run names a terminal device', async (t) => {
  const term = await startShell(t);
  const match = await command(term, 'tty', /[\r\n](\/dev\/\S+|not a tty)\r\n/);
  t.regex(match[1] ?? '', /^\/dev\/(console|pts\/\d+|tty\d*)$/);
  await exitShell(t, term);
});

test('bash has job control: a background job is listed by jobs', async (t) => {
  const term = await startShell(t);
  await command(term, 'sleep 100 &', /\[1\] \d+/);
  await command(term, 'jobs', /\[1\]\+\s+Running\s+sleep 100 &/);
  await command(term, 'kill %1; wait %1; echo rc-$?', /[\r\n]rc-143\r\n/);
  await exitShell(t, term);
});

test('fg brings a job to the foreground and Ctrl-Z stops it again', async (t) => {
  const term = await startShell(t);
  await command(term, 'sleep 100 &', /\[1\] \d+/);
  term.write('fg\r');
  await foregroundProcess(term, ['sleep', '100']);
  term.write('\x1a');
  await term.expect(/\[1\]\+\s+Stopped\s+sleep 100/, STEP_TIMEOUT_MS);
  await term.expect(PROMPT, STEP_TIMEOUT_MS);
  await command(term, 'jobs', /\[1\]\+\s+Stopped\s+sleep 100/);
  // `wait` alone returns at once for a stopped job (it waits for running ones), and bash may
  // still list the job as stopped when `exit` comes ("There are stopped jobs"): `wait -f`
  // waits for the killed job to terminate and be reaped.
  await command(term, 'kill -KILL %1; wait -f %1 2>/dev/null; echo killed-$((6*7))', /[\r\n]killed-42/);
  await exitShell(t, term);
});

test('Ctrl-C interrupts the foreground job, not the shell: $? is 130 and the shell goes on', async (t) => {
  const term = await startShell(t);
  term.write('sleep 100\r');
  const sleeper = await foregroundProcess(term, ['sleep', '100']);
  term.write('\x03');
  await term.expect(PROMPT, STEP_TIMEOUT_MS);
  await command(term, 'echo rc=$?', /[\r\n]rc=130\r\n/);
  t.deepEqual(argvOf(sleeper), [], 'the interrupted sleep is gone');
  await command(term, 'echo alive-$((6*7))', /[\r\n]alive-42\r\n/);
  await exitShell(t, term);
});

test('stty size follows a resize of the host terminal', async (t) => {
  const term = await startShell(t, { cols: 80, rows: 24 });
  await command(term, 'stty size', /[\r\n]24 80\r\n/);
  term.resize(120, 40);
  await command(term, 'stty size', /[\r\n]40 120\r\n/);
  await exitShell(t, term);
});

test('the exit code of the shell is the exit code of sandgate run --tty', async (t) => {
  const term = await startShell(t);
  await exitShell(t, term, 3);
});
