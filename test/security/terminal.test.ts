/**
 * SECURITY.md class C — terminal. The ioctls that inject input or reach the console are
 * refused by the seccomp filter (EPERM) on the session's own terminal and on any PTY the
 * sandbox opens; the sandbox sees only its own devpts, bounded by `ptys` (default 16).
 * Escape sequences aimed at the browser are the page's policy, tested with the page.
 */
import test from 'ava';

import { SG_PROBE } from './helpers/probe-binaries.js';
import { allOf, assertHeld, type Expected } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test);

/** Default `ptys` limit (docs/sandbox.md): the devpts `max=` of each sandbox. */
const DEFAULT_PTYS = 16;
const PTY_RUN_TIMEOUT_MS = 30_000;

const TTY_IOCTLS_HELD: Readonly<Record<string, Expected>> = {
  ctty: 'yes', // the attack ran on the caller's controlling terminal, where TIOCSTI would work
  TIOCSTI: 'EPERM',
  TIOCSTI_hi32: 'EPERM', // the kernel truncates cmd to 32 bits: junk above must not pass the filter
  pending_input: '0',
  ...allOf(['TIOCLINUX_2', 'TIOCLINUX_3', 'TIOCLINUX_11', 'TIOCCONS'], 'EPERM'),
  ...allOf(['TIOCSETD_13', 'TIOCSETD_21', 'TIOCSETD_3', 'TIOCSETD_27'], 'EPERM'),
  ldisc_after: '0', // still N_TTY
};

test('TIOCSTI, TIOCLINUX, TIOCCONS and TIOCSETD are refused on a PTY the sandbox opens for itself', async (t) => {
  const run = await suite.probe('tty-ioctls', ['pty']);
  assertHeld(t, run, 'tty-ioctls', TTY_IOCTLS_HELD);
});

test('the same ioctls are refused on the session\'s own terminal (--tty on a host PTY); nothing is injected', async (t) => {
  const session = suite.startPty([SG_PROBE, 'tty-ioctls', 'stdin'], { timeoutMs: PTY_RUN_TIMEOUT_MS });
  const result = await session.result;
  assertHeld(t, result, 'tty-ioctls', TTY_IOCTLS_HELD);
  // Had TIOCSTI worked with echo on, the terminal would show the injected "id".
  t.false(/(^|[\r\n])id[\r\n]/.test(result.stdout), `terminal transcript: ${JSON.stringify(result.stdout)}`);
});

test('without --tty the caller\'s own terminal reaches the command, and the ioctls are still refused on it', async (t) => {
  const session = suite.startPty([SG_PROBE, 'tty-ioctls', 'stdin'], { tty: false, timeoutMs: PTY_RUN_TIMEOUT_MS });
  // Not the command's controlling terminal (the caller's session owns it), so the kernel
  // refuses TIOCSTI too; what matters is that nothing gets into the caller's input.
  assertHeld(t, await session.result, 'tty-ioctls', { ...TTY_IOCTLS_HELD, ctty: 'no' });
});

test('/dev/pts is the sandbox\'s own empty devpts instance, also under --tty', async (t) => {
  const plain = await suite.probe('pts-isolated');
  assertHeld(t, plain, 'pts-isolated', { fs: 'devpts', foreign_ptys: '0', new_pty_instance: 'own', new_pty: '/dev/pts/0' });

  const session = suite.startPty([SG_PROBE, 'pts-isolated'], { timeoutMs: PTY_RUN_TIMEOUT_MS });
  assertHeld(t, await session.result, 'pts-isolated', { fs: 'devpts', foreign_ptys: '0', new_pty_instance: 'own' });
});

test(`PTY allocation stops at the devpts max (${DEFAULT_PTYS}) with ENOSPC`, async (t) => {
  const run = await suite.probe('pty-exhaust', [String(DEFAULT_PTYS)]);
  assertHeld(t, run, 'pty-exhaust', { opened: String(DEFAULT_PTYS), errno: 'ENOSPC' });
});

test('two sandboxes each get their full PTY quota (the limit is per session, not shared)', async (t) => {
  const first = suite.startProbe('pty-exhaust', [String(DEFAULT_PTYS)]);
  const second = suite.startProbe('pty-exhaust', [String(DEFAULT_PTYS)]);
  first.endStdin();
  second.endStdin();
  const runs = await Promise.all([first.result, second.result]);
  for (const run of runs) assertHeld(t, run, 'pty-exhaust', { opened: String(DEFAULT_PTYS), errno: 'ENOSPC' });
});
