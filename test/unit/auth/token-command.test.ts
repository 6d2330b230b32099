import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../client-sdk/src/errors/error-codes.js';
import { AUTH_DEFAULTS, parseAuthConfig } from '../../../server/auth/auth-config.js';
import { AuthError } from '../../../server/auth/auth-error.js';
import { generateDevKeys } from '../../../server/auth/dev-keys.js';
import { loadKeyStore } from '../../../server/auth/key-store.js';
import { TokenVerifier } from '../../../server/auth/token-verifier.js';
import { parseDuration, runTokenCommand } from '../../../server/cli/token-command.js';
import { tempDir } from './auth-fixtures.js';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTokenCommand(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

const USAGE = ERROR_CODES.SG_USAGE.exitCode;

test('--dev-keys mints a token on stdout (and only there) that the dev public key verifies', async (t) => {
  const dir = await tempDir('cli-dev');
  const { code, stdout, stderr } = await run(['--tenant', 'acme', '--user', 'alice', '--ttl', '30m', '--scope', 'pty,attach', '--limit', 'pids=64', '--dev-keys', dir]);
  t.is(code, 0, stderr);
  const token = stdout.trim();
  t.regex(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  t.false(stderr.includes(token), 'the summary on stderr never repeats the token');
  const keys = await generateDevKeys(dir);
  const principal = new TokenVerifier(AUTH_DEFAULTS, await loadKeyStore([keys.verificationKey])).verify(token);
  if (principal instanceof AuthError) return t.fail(principal.code);
  t.like(principal, { tenant: 'acme', user: 'alice', limits: { pids: 64 } });
  t.deepEqual([...principal.scopes], ['pty', 'attach']);
  t.true(Math.abs(principal.expiresAtMs - Date.now() - 30 * 60_000) < 5000);
});

test('--config signs with its auth.signingKeys; --json prints the details', async (t) => {
  const dir = await tempDir('cli-config');
  const secret = 'a-config-secret-that-is-long-enough-0123';
  const path = join(dir, 'sandgate.json');
  const auth = { issuer: 'corp', keys: [{ kid: 'hs-1', secret }], signingKeys: [{ kid: 'hs-1', secret }, { kid: 'hs-2', secret: `${secret}-2` }] };
  await writeFile(path, JSON.stringify({ auth }));
  const { code, stdout, stderr } = await run(['--tenant', 't1', '--user', 'u1', '--config', path, '--kid', 'hs-1', '--json']);
  t.is(code, 0, stderr);
  const printed: unknown = JSON.parse(stdout);
  if (typeof printed !== 'object' || printed === null || !('token' in printed) || typeof printed.token !== 'string') return t.fail(stdout);
  t.like(printed, { kid: 'hs-1' });
  const verifier = new TokenVerifier(parseAuthConfig(auth), await loadKeyStore(parseAuthConfig(auth).keys));
  t.false(verifier.verify(printed.token) instanceof AuthError);
  t.false(stderr.includes(secret));

  const ambiguous = await run(['--tenant', 't1', '--user', 'u1', '--config', path]);
  t.is(ambiguous.code, USAGE, 'two signing keys and no --kid');
});

test('bad or missing options exit with the usage code and print nothing on stdout', async (t) => {
  const dir = await tempDir('cli-bad');
  const cases = [
    ['--user', 'u', '--dev-keys', dir],
    ['--tenant', 't', '--dev-keys', dir],
    ['--tenant', 't', '--user', 'u'],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--ttl', 'forever'],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--ttl', '2d'],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--scope', 'pty,root'],
    ['--tenant', '../t', '--user', 'u', '--dev-keys', dir],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--limit', 'gpus=1'],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--limit', 'pids'],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--kid', 'nope'],
    ['--tenant', 't', '--user', 'u', '--dev-keys', dir, '--config', '/x.json'],
    ['--tenant', 't', '--user', 'u', '--bogus'],
    ['positional'],
  ];
  for (const argv of cases) {
    const result = await run(argv);
    t.is(result.code, USAGE, `${argv.join(' ')}: ${result.stderr}`);
    t.is(result.stdout, '');
    t.regex(result.stderr, /\[SG_USAGE\]/);
  }
});

test('an unreadable or invalid --config exits with the config code', async (t) => {
  const dir = await tempDir('cli-config-bad');
  const path = join(dir, 'bad.json');
  await writeFile(path, '{"auth": {"signingKeys": [{"kid": "k", "secret": "short-secret"}]}, "secret": "x"');
  const notJson = await run(['--tenant', 't', '--user', 'u', '--config', path]);
  t.is(notJson.code, ERROR_CODES.SG_CONFIG_INVALID.exitCode);
  t.false(notJson.stderr.includes('short-secret'));
  const missing = await run(['--tenant', 't', '--user', 'u', '--config', join(dir, 'absent.json')]);
  t.is(missing.code, ERROR_CODES.SG_CONFIG_INVALID.exitCode);
});

test('--help prints the usage and exits 0', async (t) => {
  const { code, stdout } = await run(['--help']);
  t.is(code, 0);
  t.regex(stdout, /--tenant T/);
});

test('durations: units and plain seconds', (t) => {
  t.is(parseDuration('90'), 90_000);
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('30m'), 1_800_000);
  t.is(parseDuration('1h'), 3_600_000);
  t.is(parseDuration('2d'), 172_800_000);
  t.is(parseDuration('1500ms'), 1500);
  for (const bad of ['', 'h', '1.5h', '-1s', '1w', '1 h x']) t.throws(() => parseDuration(bad), undefined, bad);
});
