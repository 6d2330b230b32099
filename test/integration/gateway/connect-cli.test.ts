/**
 * `sandgate connect` end to end: the real CLI as a child process against an in-process gateway
 * with real sandboxes. Exec mode keeps stdout and stderr apart, carries binary stdin to EOF and
 * returns the remote exit status; a PTY session (forced with --tty, stdin not a terminal)
 * reports its exit code; a refused token gives the registry's exit code and code name.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../../client-sdk/src/errors/error-codes.js';
import { startGatewayHarness } from '../../helpers/gateway-harness.js';

const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'bin', 'sandgate.js');

interface CliRun {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function runConnect(args: readonly string[], stdin: Buffer): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'connect', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    // The CLI may exit (e.g. refused) before it read all of stdin: EPIPE there is expected.
    child.stdin.on('error', () => undefined);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(stdin);
  });
}

async function tokenFile(t: { teardown(fn: () => Promise<void>): void }, token: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sandgate-connect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await writeFile(file, token, { mode: 0o600 });
  return file;
}

test('exec through connect: stdout and stderr apart, the remote exit code returned', async (t) => {
  const gw = await startGatewayHarness(t);
  const file = await tokenFile(t, gw.token());
  const run = await runConnect([gw.sessionsUrl, '--token-file', file, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], Buffer.alloc(0));
  t.is(run.status, 3);
  t.is(run.stdout.toString('utf8'), 'out\n');
  t.is(run.stderr, 'err\n');
});

test('exec through connect: 2 MiB of binary stdin arrive intact and EOF ends the command', async (t) => {
  const gw = await startGatewayHarness(t);
  const file = await tokenFile(t, gw.token());
  const input = randomBytes(2 * 1024 * 1024);
  const run = await runConnect([gw.sessionsUrl, '--token-file', file, '--', 'sha256sum'], input);
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout.toString('utf8').split(' ')[0], createHash('sha256').update(input).digest('hex'));
});

test('a PTY session through connect --tty returns the shell\'s exit code', async (t) => {
  const gw = await startGatewayHarness(t);
  const file = await tokenFile(t, gw.token());
  const run = await runConnect([gw.sessionsUrl, '--token-file', file, '--tty', '--', 'sh', '-c', 'stty size; exit 7'], Buffer.alloc(0));
  t.is(run.status, 7, run.stderr);
  t.regex(run.stdout.toString('utf8'), /24 80/);
});

test('a refused token ends connect with the registry exit code and names the code', async (t) => {
  const gw = await startGatewayHarness(t);
  const file = await tokenFile(t, 'not.a.token');
  const run = await runConnect([gw.sessionsUrl, '--token-file', file, '--', 'true'], Buffer.alloc(0));
  t.is(run.status, ERROR_CODES.SG_AUTH_MALFORMED.exitCode);
  t.regex(run.stderr, /\[SG_AUTH_[A-Z_]+\]/);
  t.false(run.stderr.includes('not.a.token'), 'the token is not echoed');
});

test('connect --attach watches a session read-only: the scrollback, live output, and the session\'s exit code as its own', async (t) => {
  const gw = await startGatewayHarness(t);
  const owner = await gw.connect({ token: gw.token({ user: 'alice' }) });
  const hello = await owner.open({ kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 80, rows: 24, env: { PS1: 'sg$ ', TERM: 'dumb' } });
  owner.write('echo before-$((6*7))\r');
  await owner.waitForOutput(/before-42/);
  const file = await tokenFile(t, gw.token({ user: 'teacher', scopes: ['attach'] }));

  const child = spawn(process.execPath, [cli, 'connect', gw.sessionsUrl, '--token-file', file, '--attach', hello.sessionId], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const sawScrollback = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('before-42')) resolve();
    });
  });
  const status = new Promise<number | null>((resolve) => child.on('close', resolve));
  await sawScrollback;
  owner.write('echo live-$((6*7)); exit 5\r');
  t.is(await status, 5, stderr);
  t.regex(stdout, /live-42/);
  t.is((await owner.waitForExit()).code, 5);
});
