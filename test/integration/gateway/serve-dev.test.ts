/**
 * `sandgate serve --dev` as `npm start` runs it, as a child process: it prints where it
 * listens and a ready token that opens sessions, keeps that token out of its log, refuses a
 * port already taken with a sentence naming --port, and exits 0 on SIGTERM.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { TestClient } from '../../helpers/gateway-harness.js';
import { within } from '../support/wait-until.js';

const CLI = fileURLToPath(new URL('../../../../bin/sandgate.js', import.meta.url));
const START_MS = 20_000;

interface Serve {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout (re-checked as output arrives). */
  printed(pattern: RegExp): Promise<RegExpExecArray>;
}

function serve(t: ExecutionContext, args: readonly string[]): Serve {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters: (() => void)[] = [];
  const state: Serve = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    printed: (pattern) =>
      within(() => `${pattern} in the output of sandgate serve (stdout ${JSON.stringify(state.stdout)}, stderr ${JSON.stringify(state.stderr.slice(-500))})`, START_MS, new Promise((resolve) => {
        const check = (): void => {
          const match = pattern.exec(state.stdout);
          if (match === null) return void waiters.push(check);
          resolve(match);
        };
        check();
      })),
  };
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    state.stdout += chunk.toString('utf8');
    wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    state.stderr += chunk.toString('utf8');
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await state.exited;
  });
  return state;
}

test('serve --dev prints its URLs and a token that opens sessions, keeps the token out of its log, and exits 0 on SIGTERM', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sandgate-serve-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const server = serve(t, ['--dev', '--port', '0', '--state-dir', stateDir]);
  const listening = await server.printed(/^sandgate: listening on (http:\/\/127\.0\.0\.1:\d+\/) \(sessions at (ws:\/\/127\.0\.0\.1:\d+\/v1\/sessions)\)$/m);
  const [, , sessionsUrl] = listening;
  const connect = await server.printed(/npx sandgate connect (\S+) --token (\S+)\n/);
  const token = connect[2] ?? '';
  t.is(connect[1], sessionsUrl);

  const ws = new WebSocket(sessionsUrl ?? '', ['sandgate.v1'], { headers: { Authorization: `Bearer ${token}` } });
  await within('the upgrade', START_MS, new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }));
  const client = new TestClient(ws);
  t.teardown(() => client.terminate());
  await client.open({ kind: 'exec', argv: ['echo', 'ok'] });
  t.like(await client.waitForExit(), { code: 0, reason: 'exited' });
  t.is(client.text('stdout'), 'ok\n');
  t.deepEqual(client.violations, []);

  server.child.kill('SIGTERM');
  t.is(await within('sandgate serve to exit', START_MS, server.exited), 0);
  t.regex(server.stderr, /sandgate serve: stopped/);
  t.false(server.stderr.includes(token), 'the dev token is printed to stdout only, never logged');
});

test('serve refuses a port that is taken with a sentence naming --port (exit 78)', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sandgate-serve-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const first = serve(t, ['--dev', '--port', '0', '--state-dir', stateDir]);
  const [, port] = await first.printed(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  const second = serve(t, ['--dev', '--port', port ?? '', '--state-dir', stateDir]);
  t.is(await within('the second serve to give up', START_MS, second.exited), 78);
  t.regex(second.stderr, /already in use.*--port N.*\[SG_CONFIG_INVALID\]/);
  first.child.kill('SIGTERM');
  t.is(await within('the first serve to exit', START_MS, first.exited), 0);
});
