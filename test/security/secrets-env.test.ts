/**
 * SECURITY.md class D, "Secrets in the environment": whatever the gateway or the CLI has in
 * its environment (gateway keys, the Redis URL, tokens, the launch plan) never reaches the
 * sandbox: not in the command's environment, nor in any visible process's environ or argv.
 */
import crypto from 'node:crypto';

import test from 'ava';

import { DEFAULT_ENV } from '../../server/sandbox/sandbox-spec.js';
import { assertHeld, describeRun, numberWhere, parseProbeLine } from './helpers/probe-line.js';
import { securitySuite } from './helpers/security-suite.js';

const suite = securitySuite(test);

/** Exit code of the CLI for SG_SPEC_FORBIDDEN (client-sdk/src/errors/error-codes.ts). */
const SPEC_FORBIDDEN_EXIT = 65;
const reversed = (text: string): string => [...text].reverse().join('');
const secret = (label: string): string => `${label}-${crypto.randomBytes(12).toString('hex')}`;

/** Secrets a careless gateway host would have in its environment. */
function hostSecrets(): Record<string, string> {
  return {
    SANDGATE_SIGNING_KEY: secret('sgkey'),
    REDIS_URL: `redis://:${secret('redispw')}@127.0.0.1:6379/0`,
    GATEWAY_TOKEN: secret('gwtoken'),
    AWS_SECRET_ACCESS_KEY: secret('aws'),
    GITHUB_TOKEN: secret('ghp'),
  };
}

const sorted = (names: Iterable<string>): string[] => [...names].sort();

test('secrets in the CLI\'s environment reach no process in the sandbox (environ or argv)', async (t) => {
  const secrets = hostSecrets();
  // The launch plan itself travels in SANDGATE_LAUNCH_PLAN: its name must not be visible either.
  const needles = [...Object.values(secrets), 'SANDGATE_LAUNCH_PLAN'];
  const run = await suite.probe('env-scan', needles.map(reversed), { cliEnv: secrets });
  const line = assertHeld(t, run, 'env-scan', { files_scanned: numberWhere('≥ 2 (init and the probe)', (n) => n >= 2) });
  t.deepEqual(sorted(line.fields.get('names')?.split(',') ?? []), sorted(Object.keys(DEFAULT_ENV)), line.text);
});

test('`env` inside prints the documented default environment and nothing of the host', async (t) => {
  const secrets = hostSecrets();
  const run = await suite.run(['/usr/bin/env'], { cliEnv: secrets });
  t.is(run.exitCode, 0, describeRun(run));
  const entries = run.stdout.trim().split('\n');
  t.deepEqual(sorted(entries.map((entry) => entry.slice(0, entry.indexOf('=')))), sorted(Object.keys(DEFAULT_ENV)));
  for (const value of Object.values(secrets)) t.false(run.stdout.includes(value), 'a host secret is in the sandbox environment');
  t.false(/SANDGATE|REDIS|TOKEN|SECRET/.test(run.stdout), run.stdout);
});

test('--env passes exactly the variables named, on top of the defaults', async (t) => {
  const run = await suite.probe('env-scan', [], { env: { SG_GIVEN: 'yes' }, cliEnv: hostSecrets() });
  const line = assertHeld(t, run, 'env-scan', {});
  t.deepEqual(sorted(line.fields.get('names')?.split(',') ?? []), sorted([...Object.keys(DEFAULT_ENV), 'SG_GIVEN']), line.text);
});

test('--env with a reserved name (SANDGATE_*, REDIS_URL) is refused before any sandbox starts', async (t) => {
  for (const name of ['SANDGATE_LAUNCH_PLAN', 'SANDGATE_INSECURE_TEST', 'REDIS_URL']) {
    const run = await suite.probe('env-scan', [], { env: { [name]: 'x' } });
    t.is(run.exitCode, SPEC_FORBIDDEN_EXIT, `${name}: ${describeRun(run)}`);
    t.is(parseProbeLine(run.stdout, 'env-scan'), undefined, `${name}: the probe never ran`);
  }
});
