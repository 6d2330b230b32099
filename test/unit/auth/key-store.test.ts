import test from 'ava';
import { createSecretKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAuthConfig } from '../../../server/auth/auth-config.js';
import { AuthError } from '../../../server/auth/auth-error.js';
import { KeyStore, keysFromJwks, loadKeyStore, publicKeyFromPem } from '../../../server/auth/key-store.js';
import { TokenVerifier } from '../../../server/auth/token-verifier.js';
import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { goodClaims, makeKeyPair, NOW_MS, POLICY, signed, tempDir, verificationKey } from './auth-fixtures.js';

const rsa = makeKeyPair('RS256', 'rsa-2030');
const ec = makeKeyPair('ES256', 'ec-2030');
const ed = makeKeyPair('EdDSA', 'ed-2030');

function jwk(pair: ReturnType<typeof makeKeyPair>, extra: Record<string, unknown> = {}): JsonWebKey {
  return { ...pair.verification.export({ format: 'jwk' }), kid: pair.kid, use: 'sig', ...extra };
}

function pem(pair: ReturnType<typeof makeKeyPair>): string {
  return pair.verification.export({ type: 'spki', format: 'pem' }).toString();
}

function configCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isSandgateError(error) ? error.code : 'not a SandgateError';
  }
  return undefined;
}

async function loadCode(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    return isSandgateError(error) ? error.code : 'not a SandgateError';
  }
  return undefined;
}

test('rotation: two keys with different kids both verify; a removed key no longer does', (t) => {
  const old = makeKeyPair('EdDSA', 'key-2029');
  const next = makeKeyPair('EdDSA', 'key-2030');
  const both = new TokenVerifier(POLICY, KeyStore.fromKeys([verificationKey(old), verificationKey(next)]));
  t.false(both.verify(signed(old), NOW_MS) instanceof AuthError);
  t.false(both.verify(signed(next), NOW_MS) instanceof AuthError);
  const rotated = new TokenVerifier(POLICY, KeyStore.fromKeys([verificationKey(next)]));
  const refused = rotated.verify(signed(old), NOW_MS);
  t.true(refused instanceof AuthError && refused.code === 'SG_AUTH_UNKNOWN_KEY');
  t.false(rotated.verify(signed(next), NOW_MS) instanceof AuthError);
});

test('a JWKS file with RSA, EC and OKP keys loads each pinned to its algorithm, and each verifies', async (t) => {
  const dir = await tempDir('jwks');
  const path = join(dir, 'jwks.json');
  const enc = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  await writeFile(path, JSON.stringify({ keys: [jwk(rsa, { alg: 'RS256' }), jwk(ec), jwk(ed), { ...enc.export({ format: 'jwk' }), kid: 'enc-1', use: 'enc' }] }));
  const config = parseAuthConfig({ keys: [{ jwksFile: path }] });
  const store = await loadKeyStore(config.keys);
  t.deepEqual([...store.kids].sort(), ['ec-2030', 'ed-2030', 'rsa-2030']);
  t.is(store.get('rsa-2030')?.alg, 'RS256');
  t.is(store.get('ec-2030')?.alg, 'ES256');
  t.is(store.get('ed-2030')?.alg, 'EdDSA');
  const verifier = new TokenVerifier(config, store);
  for (const pair of [rsa, ec, ed]) {
    const principal = verifier.verify(signed(pair), NOW_MS);
    t.false(principal instanceof AuthError, pair.alg);
  }
});

test('JWKS entries that could widen what verifies are refused at load', (t) => {
  const secretJwk = { kty: 'oct', kid: 'hs', k: Buffer.alloc(32, 1).toString('base64url') };
  const privateJwk = { ...ec.signing.export({ format: 'jwk' }), kid: 'priv' };
  const p384 = { ...generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'jwk' }), kid: 'p384' };
  const small = { ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), kid: 'rsa1024' };
  const cases: unknown[] = [
    { keys: [secretJwk] },
    { keys: [privateJwk] },
    { keys: [p384] },
    { keys: [small] },
    { keys: [jwk(ec, { alg: 'RS256' })] },
    { keys: [jwk(ed, { alg: 'HS256' })] },
    { keys: [jwk(rsa, { kid: undefined })] },
    { keys: [jwk(rsa, { kid: 'bad kid' })] },
    { keys: [{ kty: 'RSA', kid: 'broken', n: 'AQAB', e: 'nope' }] },
    { keys: 'none' },
    [],
  ];
  for (const document of cases) {
    t.is(configCode(() => keysFromJwks(document, 'auth.keys[0]')), 'SG_CONFIG_INVALID', JSON.stringify(document).slice(0, 60));
  }
  t.is(configCode(() => KeyStore.fromKeys(keysFromJwks({ keys: [jwk(rsa), jwk(rsa)] }, 'x'))), 'SG_CONFIG_INVALID', 'duplicate kid');
});

test('PEM keys: a private key, a weak RSA key or a mismatched alg is refused', (t) => {
  t.is(publicKeyFromPem('r', pem(rsa), undefined, 'k').alg, 'RS256');
  t.is(publicKeyFromPem('e', pem(ec), 'ES256', 'k').alg, 'ES256');
  const privatePem = rsa.signing.export({ type: 'pkcs8', format: 'pem' }).toString();
  t.is(configCode(() => publicKeyFromPem('r', privatePem, undefined, 'k')), 'SG_CONFIG_INVALID');
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  t.is(configCode(() => publicKeyFromPem('r', weak, undefined, 'k')), 'SG_CONFIG_INVALID');
  t.is(configCode(() => publicKeyFromPem('r', pem(rsa), 'ES256', 'k')), 'SG_CONFIG_INVALID');
  t.is(configCode(() => publicKeyFromPem('r', 'not a key', undefined, 'k')), 'SG_CONFIG_INVALID');
});

test('secrets: shorter than 32 bytes refused; a secret file loses one trailing newline', async (t) => {
  const secret = 'correct-horse-battery-staple-0123456789';
  t.is(await loadCode(() => loadKeyStore(parseAuthConfig({ keys: [{ kid: 's', secret: 'short' }] }).keys)), 'SG_CONFIG_INVALID');
  const dir = await tempDir('secret');
  const path = join(dir, 'secret');
  await writeFile(path, `${secret}\n`, { mode: 0o600 });
  const fromFile = await loadKeyStore(parseAuthConfig({ keys: [{ kid: 'hs', secretFile: path }] }).keys);
  const inline = await loadKeyStore(parseAuthConfig({ keys: [{ kid: 'hs', secret }] }).keys);
  t.false(new TokenVerifier(POLICY, inline).verify(signedWithSecret(secret), NOW_MS) instanceof AuthError);
  t.false(new TokenVerifier(POLICY, fromFile).verify(signedWithSecret(secret), NOW_MS) instanceof AuthError);
});

test('loading refuses an empty key set, a missing file and a duplicate kid', async (t) => {
  t.is(await loadCode(() => loadKeyStore([])), 'SG_CONFIG_INVALID');
  t.is(await loadCode(() => loadKeyStore(parseAuthConfig({ keys: [{ kid: 'a', publicKeyFile: '/nonexistent/key.pem' }] }).keys)), 'SG_CONFIG_INVALID');
  const twice = parseAuthConfig({ keys: [{ kid: 'a', publicKeyPem: pem(rsa) }, { kid: 'a', publicKeyPem: pem(ec) }] });
  t.is(await loadCode(() => loadKeyStore(twice.keys)), 'SG_CONFIG_INVALID');
});

test('a config error about a secret never quotes the secret', async (t) => {
  const secret = 'tiny-secret';
  const error = await loadKeyStore(parseAuthConfig({ keys: [{ kid: 's', secret }] }).keys).catch((e: unknown) => e);
  t.true(isSandgateError(error, 'SG_CONFIG_INVALID'));
  t.false(error instanceof Error && `${error.message}${error.stack ?? ''}`.includes(secret));
});

function signedWithSecret(secret: string): string {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return signed({ kid: 'hs', alg: 'HS256', signing: key, verification: key }, goodClaims());
}
