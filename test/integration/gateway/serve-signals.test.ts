/**
 * `sandgate serve` as a real child process, stopped by real signals sent to its pid.
 *
 * What is promised, and where:
 * - docs/operations.md "Shutting down": on SIGTERM, /readyz answers 503, new upgrades get 503
 *   SG_SHUTTING_DOWN with Retry-After, every session gets its `shutting-down` notice and
 *   drainTimeoutMs to end; those still open are then closed with 1001.
 * - server/cli/serve-command.ts (module comment and `serve --help`): then every session is
 *   disposed (sandbox killed, cgroup removed, lease released) and the command returns 0;
 *   "SIGTERM or SIGINT drains (drainTimeoutMs), a second one stops at once".
 *   (docs/operations.md itself says nothing about a second signal.)
 *
 * Each serve runs in a private cgroup cell (test/integration/support/cgroup-cell.ts): sandgate
 * nests its sandbox cgroups under its own cgroup, so `<cell>/sandgate/sb-*` are this serve's
 * sandboxes and nothing else's, and "nothing left" is checked exactly: no task anywhere in the
 * cell, no sandbox cgroup, and none of the processes the sessions had is alive.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { goodClaims, signed, type TestKey } from '../../helpers/attack-tokens.js';
import { SgClient } from '../../helpers/gateway-attack-client.js';
import { httpStatus } from '../../helpers/gateway-under-test.js';
import { TestClient, type CloseEvent } from '../../helpers/gateway-test-client.js';
import { CgroupCell } from '../support/cgroup-cell.js';
import { errnoCode } from '../support/errno-code.js';
import { argvOf, descendantsOf, identify, isAlive, type ProcessIdentity } from '../support/host-processes.js';
import { waitUntil, within } from '../support/wait-until.js';

const CLI = fileURLToPath(new URL('../../../../bin/sandgate.js', import.meta.url));
/** Start-up, a spawn, a shell prompt on a loaded 2-core VM, ms. */
const START_MS = 20_000;
const PROMPT = 'SGPROMPT$ ';
const PROMPT_RE = /SGPROMPT\$ $/;

interface ServeChild {
  readonly pid: number;
  readonly sessionsUrl: string;
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly cell: CgroupCell;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  stderr(): string;
  token(user: string): string;
  /** A TestClient on an admitted upgrade. */
  connect(user: string): Promise<TestClient>;
}

function edKey(): TestKey {
  const pair = generateKeyPairSync('ed25519');
  return { kid: 'serve-ed', alg: 'EdDSA', privateKey: pair.privateKey, publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/**
 * `sandgate serve --config FILE` with a fresh Ed25519 key and `drainTimeoutMs`, started by a
 * shell that first moves itself into a fresh cgroup cell and then execs node (same pid), so
 * the serve process and its sandboxes live in the cell from the start. Resolves once it
 * prints where it listens. Teardown: SIGKILL to that pid if it still runs, then the cell
 * (whatever a failed test left in it is killed) and the directory are removed.
 */
async function startServe(t: ExecutionContext, drainTimeoutMs: number): Promise<ServeChild> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sandgate-serve-signals-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const key = edKey();
  const configFile = path.join(dir, 'sandgate.json');
  await writeFile(configFile, JSON.stringify({
    host: '127.0.0.1',
    port: 0,
    pingIntervalMs: 0,
    drainTimeoutMs,
    auth: { keys: [{ kid: key.kid, alg: key.alg, publicKeyPem: key.publicKeyPem }] },
  }));
  const cell = CgroupCell.create();
  t.teardown(() => cell.dispose());

  const join = 'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "cell: cannot join $1" >&2; exit 99; }; shift; done; shift; exec "$@"';
  const child = spawn('/bin/sh', ['-c', join, 'sgtest-cell', ...cell.procsFiles, '--', process.execPath, CLI, 'serve', '--config', configFile], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('sandgate serve was not spawned');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    await exited;
  });
  let stdout = '';
  let stderr = '';
  const listening = new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /^sandgate: listening on (http:\/\/127\.0\.0\.1:\d+\/) \(sessions at (ws:\/\/127\.0\.0\.1:\d+\/v1\/sessions)\)$/m.exec(stdout);
      if (match !== null) resolve(match);
    });
    void exited.then(({ code, signal }) => reject(new Error(`sandgate serve exited (${code ?? signal}) before listening: ${stderr}`)));
  });
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const [, url = '', sessionsUrl = ''] = await within(() => `sandgate serve to listen (stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`, START_MS, listening);

  const token = (user: string): string => signed(key, goodClaims({ sub: user, tenant: 'acme' }));
  return {
    pid,
    url,
    sessionsUrl,
    cell,
    exited,
    stderr: () => stderr,
    token,
    connect: async (user) => {
      const ws = new WebSocket(sessionsUrl, ['sandgate.v1'], { headers: { Authorization: `Bearer ${token(user)}` } });
      await within(`the upgrade of ${user}`, START_MS, new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode ?? '?'}`)));
        ws.once('error', reject);
      }));
      const client = new TestClient(ws);
      t.teardown(() => client.terminate());
      return client;
    },
  };
}

async function openShell(serve: ServeChild, user: string): Promise<TestClient> {
  const client = await serve.connect(user);
  await client.open({ kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 100, rows: 30, env: { PS1: PROMPT, TERM: 'dumb' } });
  await client.waitForOutput(PROMPT_RE);
  return client;
}

async function openSleep(serve: ServeChild, user: string): Promise<TestClient> {
  const client = await serve.connect(user);
  await client.open({ kind: 'exec', argv: ['sleep', '600'] });
  return client;
}

/** `cgroup.procs` of `dir`, or [] once the directory is gone. */
function tasksOf(dir: string): number[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((line) => line !== '').map(Number);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/** What the serve's sandboxes are on the host: the processes below it, their sandbox cgroups, every task in the cell. */
interface Footprint {
  readonly processes: readonly (ProcessIdentity & { readonly argv: readonly string[] })[];
  /** `<cell>/sandgate/sb-*` (and anything below), in every hierarchy. */
  readonly sandboxCgroups: readonly string[];
  /** Pids in any cgroup of the cell (the serve process itself while it runs). */
  readonly cellTasks: readonly number[];
}

function footprint(serve: ServeChild): Footprint {
  const processes = descendantsOf(serve.pid).flatMap((pid) => {
    const id = identify(pid);
    return id === undefined ? [] : [{ ...id, argv: argvOf(pid) }];
  });
  const dirs = [...serve.cell.hierarchies.map((h) => h.dir), ...serve.cell.descendants()];
  return {
    processes,
    sandboxCgroups: serve.cell.descendants().filter((dir) => /\/sandgate\/sb-[^/]+(\/|$)/.test(dir)),
    cellTasks: [...new Set(dirs.flatMap((dir) => tasksOf(dir)))],
  };
}

/** Waits (bounded) until the serve's sandboxes show the running commands. */
function runningFootprint(serve: ServeChild, commands: readonly (readonly string[])[], sandboxes: number): Promise<Footprint> {
  return waitUntil(`${commands.map((argv) => argv.join(' ')).join(', ')} running in ${sandboxes} sandbox cgroup(s) below sandgate serve`, () => {
    const now = footprint(serve);
    const names = new Set(now.sandboxCgroups.map((dir) => /\/sandgate\/(sb-[^/]+)/.exec(dir)?.[1]));
    const running = commands.every((argv) => now.processes.some((p) => p.argv.join(' ') === argv.join(' ')));
    return running && names.size >= sandboxes ? { done: true, value: now } : { done: false, state: JSON.stringify(now) };
  }, { timeoutMs: START_MS, intervalMs: 25 });
}

/** What is left of `before` once serve has exited: live processes of it, its sandbox cgroups, any task in the cell. */
function leftovers(serve: ServeChild, before: Footprint): Footprint {
  const now = footprint(serve);
  return {
    processes: before.processes.filter((p) => isAlive(p)),
    sandboxCgroups: [...new Set([...before.sandboxCgroups.filter((dir) => fs.existsSync(dir)), ...now.sandboxCgroups])],
    cellTasks: now.cellTasks,
  };
}

function exitOrClose(client: TestClient): string {
  const exit = client.frames.find((frame) => frame.type === 'exit');
  return exit === undefined ? 'no exit frame' : `exit ${JSON.stringify(exit)}`;
}

test('SIGTERM to serve: upgrades refused with 503 SG_SHUTTING_DOWN, each session gets the notice, is closed with 1001 after drainTimeoutMs, serve exits 0, no sandbox process or cgroup is left', async (t) => {
  const DRAIN_MS = 1500;
  const serve = await startServe(t, DRAIN_MS);
  const [shell, sleeper] = await Promise.all([openShell(serve, 'alice'), openSleep(serve, 'bob')]);
  const before = await runningFootprint(serve, [['bash', '--norc', '--noprofile'], ['sleep', '600']], 2);
  t.true(before.cellTasks.includes(serve.pid), 'the serve process runs in the cell');

  const signalledAt = performance.now();
  process.kill(serve.pid, 'SIGTERM');

  // Both clients are told, with a grace no longer than the drain timeout.
  for (const client of [shell, sleeper]) {
    const notice = await client.waitForFrame('notice', (frame) => frame.kind === 'shutting-down');
    t.true(notice.kind === 'shutting-down' && notice.graceMs > 0 && notice.graceMs <= DRAIN_MS, `notice ${JSON.stringify(notice)}`);
  }

  // The notice was sent after the drain began: from here on a new upgrade must be refused.
  const refused = await SgClient.upgrade(serve.sessionsUrl, { token: serve.token('carol') });
  if (refused.ok) {
    refused.client.ws.terminate();
    t.fail('an upgrade was admitted while serve was draining');
  } else {
    t.is(refused.refusal.status, 503);
    t.is(refused.refusal.code, 'SG_SHUTTING_DOWN');
    t.regex(String(refused.refusal.headers['retry-after']), /^\d+$/);
  }
  t.is(await httpStatus(`${serve.url}readyz`), 503, '/readyz is not ready while draining');

  // The sessions still work during the grace.
  shell.write('echo during-drain-$((2+3))\r');
  await shell.waitForOutput(/[\r\n]during-drain-5/);

  const closes: CloseEvent[] = await Promise.all([shell, sleeper].map((client) => client.waitForClose(DRAIN_MS + START_MS)));
  const closedAfterMs = performance.now() - signalledAt;
  for (const [i, close] of closes.entries()) {
    const client = [shell, sleeper][i];
    if (client === undefined) continue;
    t.is(close.code, 1001, `closed ${close.code} ${close.reason}; ${exitOrClose(client)}`);
    const exit = client.frames.find((frame) => frame.type === 'exit');
    if (exit !== undefined && exit.type === 'exit') t.is(exit.reason, 'shutdown');
    t.deepEqual(client.violations, []);
  }
  t.true(closedAfterMs >= DRAIN_MS * 0.9, `the sessions were closed ${closedAfterMs.toFixed(0)} ms after SIGTERM, before drainTimeoutMs ${DRAIN_MS}`);

  const exit = await within(() => `sandgate serve to exit after the drain (stderr ${JSON.stringify(serve.stderr())})`, START_MS, serve.exited);
  t.deepEqual(exit, { code: 0, signal: null }, serve.stderr());

  // serve returns only after every session is disposed: nothing may be left once it has exited.
  t.deepEqual(leftovers(serve, before), { processes: [], sandboxCgroups: [], cellTasks: [] });
});

async function secondSignalStopsAtOnce(t: ExecutionContext, second: NodeJS.Signals): Promise<void> {
  // A drain this long would outlast the test: only the second signal can end it in time.
  const DRAIN_MS = 60_000;
  const STOP_MS = 5000;
  const serve = await startServe(t, DRAIN_MS);
  const [shell, sleeper] = await Promise.all([openShell(serve, 'alice'), openSleep(serve, 'bob')]);
  const before = await runningFootprint(serve, [['bash', '--norc', '--noprofile'], ['sleep', '600']], 2);

  process.kill(serve.pid, 'SIGTERM');
  // The notice proves the drain has begun, so the next signal is the second one.
  for (const client of [shell, sleeper]) await client.waitForFrame('notice', (frame) => frame.kind === 'shutting-down');

  const secondAt = performance.now();
  process.kill(serve.pid, second);
  const exit = await within(() => `sandgate serve to stop at once after ${second} (stderr ${JSON.stringify(serve.stderr())})`, STOP_MS, serve.exited);
  const stoppedAfterMs = performance.now() - secondAt;
  t.deepEqual(exit, { code: 0, signal: null }, serve.stderr());
  t.true(stoppedAfterMs < STOP_MS, `stopped ${stoppedAfterMs.toFixed(0)} ms after the second signal (drainTimeoutMs ${DRAIN_MS})`);

  // How a cut connection closes is not documented (1001, or 1006 when the socket is destroyed): only that it does.
  for (const client of [shell, sleeper]) await client.waitForClose(STOP_MS);
  t.deepEqual(leftovers(serve, before), { processes: [], sandboxCgroups: [], cellTasks: [] });
}

test('a second SIGTERM during the drain stops serve at once: exit 0 long before drainTimeoutMs, no sandbox process or cgroup left', secondSignalStopsAtOnce, 'SIGTERM');
test('SIGINT during a SIGTERM drain stops serve at once: exit 0 long before drainTimeoutMs, no sandbox process or cgroup left', secondSignalStopsAtOnce, 'SIGINT');
