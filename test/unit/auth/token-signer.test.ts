import test from 'ava';
import { verify as cryptoVerify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { parseAuthConfig, type SigningKeySource } from '../../../server/auth/auth-config.js';
import { AuthError } from '../../../server/auth/auth-error.js';
import { TokenVerifier } from '../../../server/auth/token-verifier.js';
import { chooseSigningKey, loadSigningKey, signToken, type TokenRequest } from '../../../server/auth/token-signer.js';
import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { makeKeyPair, NOW_MS, NOW_S, POLICY, tempDir, verifierFor } from './auth-fixtures.js';

const request: TokenRequest = { tenant: 'acme', user: 'alice', ttlMs: 3_600_000, scopes: ['pty', 'exec'], nowMs: NOW_MS };

for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  test(`a ${alg} private key file signs tokens its public key verifies`, async (t) => {
    const pair = makeKeyPair(alg, `${alg}-signer`);
    const dir = await tempDir('signer');
    const path = join(dir, 'key.pem');
    await writeFile(path, pair.signing.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const config = parseAuthConfig({ signingKeys: [{ kid: pair.kid, privateKeyFile: path }] });
    const source = chooseSigningKey(config.signingKeys, undefined);
    if (typeof source === 'string') return t.fail(source);
    const key = await loadSigningKey(source);
    t.is(key.alg, alg);
    const minted = signToken(key, { ...request, limits: { pids: 32 }, tokenId: 'id-1' }, config);
    t.is(minted.expiresAtMs, NOW_MS + 3_600_000);
    t.is(minted.tokenId, 'id-1');
    const principal = verifierFor([pair]).verify(minted.token, NOW_MS);
    if (principal instanceof AuthError) return t.fail(principal.code);
    t.like(principal, { tenant: 'acme', user: 'alice', tokenId: 'id-1', limits: { pids: 32 } });
    t.deepEqual([...principal.scopes], ['pty', 'exec']);
  });
}

test('an HS256 secret signs tokens the same secret verifies', async (t) => {
  const config = parseAuthConfig({ signingKeys: [{ kid: 'hs-1', secret: 'a-secret-of-at-least-thirty-two-bytes!' }], keys: [{ kid: 'hs-1', secret: 'a-secret-of-at-least-thirty-two-bytes!' }] });
  const [source] = config.signingKeys;
  if (source === undefined) return t.fail();
  const key = await loadSigningKey(source);
  t.is(key.alg, 'HS256');
  const { token } = signToken(key, request, config);
  const verifier = await TokenVerifier.fromConfig(config);
  t.false(verifier.verify(token, NOW_MS) instanceof AuthError);
});

test('minted tokens interoperate: jsonwebtoken verifies RS256/ES256, node:crypto verifies EdDSA', async (t) => {
  const rsa = makeKeyPair('RS256', 'r');
  const minted = signToken({ kid: 'r', alg: 'RS256', key: rsa.signing }, request, POLICY);
  const payload = jwt.verify(minted.token, rsa.verification, { algorithms: ['RS256'], clockTimestamp: NOW_S, audience: 'sandgate', issuer: 'sandgate' });
  t.like(payload, { sub: 'alice', tenant: 'acme', scope: 'pty exec', iat: NOW_S, exp: NOW_S + 3600 });
  t.deepEqual(jwt.decode(minted.token, { complete: true })?.header, { alg: 'RS256', typ: 'JWT', kid: 'r' });

  const ec = makeKeyPair('ES256', 'e');
  const es = signToken({ kid: 'e', alg: 'ES256', key: ec.signing }, request, POLICY);
  t.notThrows(() => jwt.verify(es.token, ec.verification, { algorithms: ['ES256'], clockTimestamp: NOW_S }));

  const ed = makeKeyPair('EdDSA', 'd');
  const eddsa = signToken({ kid: 'd', alg: 'EdDSA', key: ed.signing }, request, POLICY);
  const [h = '', p = '', s = ''] = eddsa.token.split('.');
  t.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'EdDSA', typ: 'JWT', kid: 'd' });
  t.true(cryptoVerify(null, Buffer.from(`${h}.${p}`), ed.verification, Buffer.from(s, 'base64url')));
});

test('the signer refuses to mint what the verifier would refuse', (t) => {
  const key = { kid: 'd', alg: 'EdDSA' as const, key: makeKeyPair('EdDSA').signing };
  const bad: Array<Partial<TokenRequest>> = [
    { tenant: '../x' },
    { user: '' },
    { ttlMs: 500 },
    { ttlMs: POLICY.maxLifetimeMs + 1000 },
    { scopes: [] },
    { limits: { pids: 0 } },
  ];
  for (const change of bad) {
    const error = t.throws(() => signToken(key, { ...request, ...change }, POLICY));
    t.true(isSandgateError(error, 'SG_CONFIG_INVALID'), JSON.stringify(change));
  }
});

test('chooseSigningKey: by kid, the only one, or a sentence saying why not', (t) => {
  const a: SigningKeySource = { kind: 'secret', kid: 'a', secret: 'x', option: 'o' };
  const b: SigningKeySource = { kind: 'secret', kid: 'b', secret: 'y', option: 'o' };
  t.is(chooseSigningKey([a], undefined), a);
  t.is(chooseSigningKey([a, b], 'b'), b);
  t.is(typeof chooseSigningKey([a, b], undefined), 'string');
  t.is(typeof chooseSigningKey([a], 'c'), 'string');
  t.is(typeof chooseSigningKey([], undefined), 'string');
});

test('a private key that is not PEM, or an encrypted one, is a config error', async (t) => {
  const dir = await tempDir('signer-bad');
  const path = join(dir, 'key.pem');
  await writeFile(path, makeKeyPair('ES256').signing.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }));
  const error = await loadSigningKey({ kind: 'privateKeyFile', kid: 'k', path, option: 'auth.signingKeys[0]' }).catch((e: unknown) => e);
  t.true(isSandgateError(error, 'SG_CONFIG_INVALID'));
});
