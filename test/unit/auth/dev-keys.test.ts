import test from 'ava';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUTH_DEFAULTS } from '../../../server/auth/auth-config.js';
import { AuthError } from '../../../server/auth/auth-error.js';
import { generateDevKeys } from '../../../server/auth/dev-keys.js';
import { loadKeyStore } from '../../../server/auth/key-store.js';
import { loadSigningKey, signToken } from '../../../server/auth/token-signer.js';
import { TokenVerifier } from '../../../server/auth/token-verifier.js';
import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { tempDir } from './auth-fixtures.js';

for (const alg of ['EdDSA', 'ES256'] as const) {
  test(`${alg} dev keys are written 0600 in a 0700 directory and mint tokens that verify`, async (t) => {
    const dir = join(await tempDir('dev'), 'keys');
    const keys = await generateDevKeys(dir, { alg });
    t.true(keys.created);
    t.is(keys.alg, alg);
    t.regex(keys.kid, /^dev-[A-Za-z0-9_-]{16}$/);
    t.is((await stat(dir)).mode & 0o777, 0o700);
    t.is((await stat(keys.privateKeyFile)).mode & 0o777, 0o600);
    t.is((await stat(keys.publicKeyFile)).mode & 0o777, 0o600);
    const verifier = new TokenVerifier(AUTH_DEFAULTS, await loadKeyStore([keys.verificationKey]));
    const minted = signToken(await loadSigningKey(keys.signingKey), { tenant: 'dev', user: 'me', ttlMs: 60_000, scopes: ['pty'] }, AUTH_DEFAULTS);
    const principal = verifier.verify(minted.token);
    t.false(principal instanceof AuthError);
  });
}

test('an existing pair is reused (same kid), so earlier dev tokens stay valid', async (t) => {
  const dir = await tempDir('dev-reuse');
  const first = await generateDevKeys(dir);
  const second = await generateDevKeys(dir);
  t.false(second.created);
  t.is(second.kid, first.kid);
  const other = await generateDevKeys(dir, { alg: 'ES256' });
  t.true(other.created, 'a different algorithm replaces the pair');
  t.not(other.kid, first.kid);
});

test('a torn pair (public key missing its match) is replaced', async (t) => {
  const dir = await tempDir('dev-torn');
  const first = await generateDevKeys(dir);
  const unrelated = await generateDevKeys(await tempDir('dev-other'));
  await writeFile(first.publicKeyFile, await readFile(unrelated.publicKeyFile));
  const again = await generateDevKeys(dir);
  t.true(again.created);
  t.not(again.kid, first.kid);
});

test('a private key readable by group or others is refused, not used', async (t) => {
  const dir = await tempDir('dev-mode');
  const keys = await generateDevKeys(dir);
  await chmod(keys.privateKeyFile, 0o644);
  const error = await generateDevKeys(dir).catch((e: unknown) => e);
  t.true(isSandgateError(error, 'SG_CONFIG_INVALID'));
});
