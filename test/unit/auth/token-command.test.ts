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
import { loadGatewayConfig } from '../../../server/config/load-config.js';
import { tempDir } from './auth-fixtures.js';

/**
 * Runs the command with `env` as its whole environment (default: a HOME whose state directory
 * holds no development key), so that the machine's own ~/.local/state/sandgate, where
 * "npm start" keeps its key, never decides a test.
 */
async function run(argv: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const environment = env ?? { HOME: await tempDir('cli-home') };
  const code = await runTokenCommand(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    loadConfig: (configFile) => loadGatewayConfig({ argv: configFile === undefined ? [] : ['--config', configFile], env: environment }),
  });
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

test('with no key configured it signs with the development key "npm start" keeps under the state directory, and says so', async (t) => {
  const home = await tempDir('cli-dev-home');
  const keys = await generateDevKeys(join(home, '.local', 'state', 'sandgate', 'dev-keys'));
  const { code, stdout, stderr } = await run(['--tenant', 'acme', '--user', 'alice'], { HOME: home });
  t.is(code, 0, stderr);
  t.regex(stderr, /signing with the development key in .*\.local\/state\/sandgate\/dev-keys/);
  const principal = new TokenVerifier(AUTH_DEFAULTS, await loadKeyStore([keys.verificationKey])).verify(stdout.trim());
  if (principal instanceof AuthError) return t.fail(principal.code);
  t.like(principal, { tenant: 'acme', user: 'alice' });
});

test('the signing key and the issuer come from the SANDGATE_* environment, as for serve', async (t) => {
  const secret = 'an-environment-secret-that-is-long-enough-0123';
  const keys = JSON.stringify([{ kid: 'env-1', secret }]);
  const env = { HOME: await tempDir('cli-env-home'), SANDGATE_AUTH_SIGNING_KEYS: keys, SANDGATE_AUTH_ISSUER: 'corp' };
  const { code, stdout, stderr } = await run(['--tenant', 't1', '--user', 'u1'], env);
  t.is(code, 0, stderr);
  t.false(stderr.includes(secret));
  const auth = parseAuthConfig({ issuer: 'corp', keys: [{ kid: 'env-1', secret }] });
  const principal = new TokenVerifier(auth, await loadKeyStore(auth.keys)).verify(stdout.trim());
  t.false(principal instanceof AuthError, principal instanceof AuthError ? principal.code : '');
  const otherIssuer = parseAuthConfig({ issuer: 'sandgate', keys: [{ kid: 'env-1', secret }] });
  t.true(new TokenVerifier(otherIssuer, await loadKeyStore(otherIssuer.keys)).verify(stdout.trim()) instanceof AuthError, 'the configured issuer went into the token');
});

test('with no key anywhere the refusal says where keys come from', async (t) => {
  const { code, stdout, stderr } = await run(['--tenant', 't', '--user', 'u']);
  t.is(code, USAGE);
  t.is(stdout, '');
  t.regex(stderr, /SANDGATE_AUTH_SIGNING_KEYS/);
  t.regex(stderr, /--dev-keys DIR/);
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
