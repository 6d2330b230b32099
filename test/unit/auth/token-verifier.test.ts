import test from 'ava';
import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import { AuthError } from '../../../server/auth/auth-error.js';
import type { JwtAlgorithm } from '../../../server/auth/jwt-algorithm.js';
import { b64, forge, goodClaims, makeKeyPair, NOW_MS, NOW_S, signed, verifierFor } from './auth-fixtures.js';

const rsa = makeKeyPair('RS256');
const ec = makeKeyPair('ES256');
const ed = makeKeyPair('EdDSA');
const hs = makeKeyPair('HS256');
const all = [rsa, ec, ed, hs];
const verifier = verifierFor(all);

function refusal(token: string, nowMs = NOW_MS, v = verifier): AuthError {
  const result = v.verify(token, nowMs);
  if (!(result instanceof AuthError)) throw new Error(`expected a refusal, got principal ${result.user}`);
  return result;
}

function rs256(input: string, key = rsa.signing): Buffer {
  return createSign('sha256').update(input).sign(key);
}

for (const pair of all) {
  test(`a ${pair.alg} token signed by its key verifies into a frozen principal`, (t) => {
    const principal = verifier.verify(signed(pair, goodClaims({ jti: 'token-1' })), NOW_MS);
    if (principal instanceof AuthError) return t.fail(`${principal.code}: ${principal.message}`);
    t.is(principal.tenant, 'acme');
    t.is(principal.user, 'alice');
    t.deepEqual([...principal.scopes].sort(), ['exec', 'pty']);
    t.is(principal.tokenId, 'token-1');
    t.is(principal.expiresAtMs, (NOW_S + 3600) * 1000);
    t.true(Object.isFrozen(principal));
    const scopes: unknown = principal.scopes;
    t.throws(() => {
      if (scopes instanceof Set) scopes.add('attach');
    });
    t.false(principal.scopes.has('attach'));
  });

  test(`a ${pair.alg} token with a tampered payload is refused as a bad signature`, (t) => {
    const [header, , signature] = signed(pair).split('.');
    const forged = `${header}.${b64(goodClaims({ tenant: 'other-tenant' }))}.${signature}`;
    t.is(refusal(forged).code, 'SG_AUTH_BAD_SIGNATURE');
  });

  test(`a ${pair.alg} token with a tampered signature is refused as a bad signature`, (t) => {
    const [header, payload, signature = ''] = signed(pair).split('.');
    const bytes = Buffer.from(signature, 'base64url');
    bytes[5] = (bytes[5] ?? 0) ^ 0x01;
    t.is(refusal(`${header}.${payload}.${bytes.toString('base64url')}`).code, 'SG_AUTH_BAD_SIGNATURE');
    t.is(refusal(`${header}.${payload}.`).code, 'SG_AUTH_BAD_SIGNATURE');
  });
}

test('alg none (unsigned) is refused as an algorithm error, with or without a kid', (t) => {
  t.is(refusal(forge({ alg: 'none', kid: rsa.kid }, goodClaims())).code, 'SG_AUTH_ALGORITHM');
  t.is(refusal(forge({ alg: 'none' }, goodClaims()), NOW_MS, verifierFor([rsa])).code, 'SG_AUTH_ALGORITHM');
  t.is(refusal(forge({ alg: 'None', kid: rsa.kid }, goodClaims())).code, 'SG_AUTH_ALGORITHM');
  t.is(refusal(forge({ kid: rsa.kid }, goodClaims())).code, 'SG_AUTH_ALGORITHM');
});

test('HS256 signed with the RSA public key PEM as the secret (algorithm confusion) is refused', (t) => {
  const pem = rsa.verification.export({ type: 'spki', format: 'pem' }).toString();
  const hmacWithPem = (input: string): Buffer => createHmac('sha256', pem).update(input).digest();
  t.is(refusal(forge({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, goodClaims(), hmacWithPem)).code, 'SG_AUTH_ALGORITHM');
  // Without kid, against a lone RSA key: still pinned to RS256.
  t.is(refusal(forge({ alg: 'HS256' }, goodClaims(), hmacWithPem), NOW_MS, verifierFor([rsa])).code, 'SG_AUTH_ALGORITHM');
  const pkcs1 = rsa.verification.export({ type: 'pkcs1', format: 'pem' }).toString();
  const hmacPkcs1 = (input: string): Buffer => createHmac('sha256', pkcs1).update(input).digest();
  t.is(refusal(forge({ alg: 'HS256', kid: rsa.kid }, goodClaims(), hmacPkcs1)).code, 'SG_AUTH_ALGORITHM');
});

test('an ES256 key given an RS256 token is refused before any verification', (t) => {
  t.is(refusal(forge({ alg: 'RS256', kid: ec.kid }, goodClaims(), (input) => rs256(input))).code, 'SG_AUTH_ALGORITHM');
});

test('each key verifies only its pinned algorithm', (t) => {
  const algs: JwtAlgorithm[] = ['RS256', 'ES256', 'EdDSA', 'HS256'];
  for (const pair of all) {
    for (const alg of algs.filter((a) => a !== pair.alg)) {
      t.is(refusal(forge({ alg, kid: pair.kid }, goodClaims(), () => Buffer.alloc(64, 1))).code, 'SG_AUTH_ALGORITHM', `${alg} on ${pair.alg}`);
    }
  }
  for (const alg of ['RS384', 'ES512', 'PS256', 'HS512', 'Ed25519']) {
    t.is(refusal(forge({ alg, kid: rsa.kid }, goodClaims(), () => Buffer.alloc(64, 1))).code, 'SG_AUTH_ALGORITHM', alg);
  }
});

test('a key embedded in the header (jwk, jku, x5u) is ignored: the configured key decides', (t) => {
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const header = { alg: 'RS256', kid: rsa.kid, jwk: attacker.publicKey.export({ format: 'jwk' }), jku: 'https://evil.example/jwks', x5u: 'https://evil.example/cert' };
  t.is(refusal(forge(header, goodClaims(), (input) => rs256(input, attacker.privateKey))).code, 'SG_AUTH_BAD_SIGNATURE');
});

test('expiry: refused past exp + tolerance, accepted within it, and exp is required', (t) => {
  const token = signed(rsa, goodClaims({ exp: NOW_S - 10 }));
  t.false(verifier.verify(token, NOW_MS) instanceof AuthError, 'within the 30 s tolerance');
  t.is(refusal(token, NOW_MS + 20_000).code, 'SG_AUTH_EXPIRED');
  t.is(refusal(signed(rsa, goodClaims({ exp: NOW_S - 3600, iat: NOW_S - 7200 }))).code, 'SG_AUTH_EXPIRED');
  t.is(refusal(signed(rsa, goodClaims({ exp: undefined }))).code, 'SG_AUTH_CLAIMS');
  t.is(refusal(signed(rsa, goodClaims({ exp: String(NOW_S + 60) }))).code, 'SG_AUTH_CLAIMS');
  t.is(refusal(signed(ed, goodClaims({ exp: null }))).code, 'SG_AUTH_CLAIMS');
});

test('not yet valid: nbf (or iat) beyond the tolerance is refused', (t) => {
  t.is(refusal(signed(ec, goodClaims({ nbf: NOW_S + 120 }))).code, 'SG_AUTH_NOT_YET_VALID');
  t.false(verifier.verify(signed(ec, goodClaims({ nbf: NOW_S + 20 })), NOW_MS) instanceof AuthError);
  t.is(refusal(signed(ec, goodClaims({ iat: NOW_S + 600 }))).code, 'SG_AUTH_NOT_YET_VALID');
  t.is(refusal(signed(ec, goodClaims({ nbf: 'soon' }))).code, 'SG_AUTH_CLAIMS');
});

test('a wrong or missing issuer is refused', (t) => {
  t.is(refusal(signed(hs, goodClaims({ iss: 'someone-else' }))).code, 'SG_AUTH_ISSUER');
  t.is(refusal(signed(hs, goodClaims({ iss: undefined }))).code, 'SG_AUTH_ISSUER');
  t.is(refusal(signed(hs, goodClaims({ iss: ['sandgate'] }))).code, 'SG_AUTH_ISSUER');
});

test('a wrong or missing audience is refused; an array naming ours is accepted', (t) => {
  t.is(refusal(signed(hs, goodClaims({ aud: 'another-service' }))).code, 'SG_AUTH_AUDIENCE');
  t.is(refusal(signed(hs, goodClaims({ aud: undefined }))).code, 'SG_AUTH_AUDIENCE');
  t.is(refusal(signed(hs, goodClaims({ aud: [] }))).code, 'SG_AUTH_AUDIENCE');
  t.false(verifier.verify(signed(hs, goodClaims({ aud: ['other', 'sandgate'] })), NOW_MS) instanceof AuthError);
});

test('missing or unsafe sub and tenant claims are refused', (t) => {
  t.is(refusal(signed(ed, goodClaims({ tenant: undefined }))).code, 'SG_AUTH_CLAIMS');
  t.is(refusal(signed(ed, goodClaims({ sub: undefined }))).code, 'SG_AUTH_CLAIMS');
  for (const bad of ['', '..', '../etc', 'a/b', '-rf', 'has space', 'x'.repeat(129), 42, ['acme']]) {
    t.is(refusal(signed(ed, goodClaims({ tenant: bad }))).code, 'SG_AUTH_CLAIMS', JSON.stringify(bad));
    t.is(refusal(signed(ed, goodClaims({ sub: bad }))).code, 'SG_AUTH_CLAIMS', JSON.stringify(bad));
  }
});

test('a lifetime over maxLifetimeMs is refused, with or without iat', (t) => {
  const day = 24 * 3600;
  t.is(refusal(signed(rsa, goodClaims({ exp: NOW_S + day + 3600 }))).code, 'SG_AUTH_LIFETIME_TOO_LONG');
  t.is(refusal(signed(rsa, goodClaims({ iat: undefined, exp: NOW_S + 2 * day }))).code, 'SG_AUTH_LIFETIME_TOO_LONG');
  // Issued 23 h ago for 25 h: only 2 h left, but its lifetime is still over 24 h.
  t.is(refusal(signed(rsa, goodClaims({ iat: NOW_S - 23 * 3600, exp: NOW_S + 2 * 3600 }))).code, 'SG_AUTH_LIFETIME_TOO_LONG');
  t.false(verifier.verify(signed(rsa, goodClaims({ exp: NOW_S + day })), NOW_MS) instanceof AuthError);
  const short = verifierFor([rsa], { maxLifetimeMs: 60_000 });
  t.is(refusal(signed(rsa, goodClaims({ exp: NOW_S + 3600 })), NOW_MS, short).code, 'SG_AUTH_LIFETIME_TOO_LONG');
});

test('an unknown kid is refused; a token without kid only passes when one key is configured', (t) => {
  t.is(refusal(signed({ ...rsa, kid: 'retired-key' })).code, 'SG_AUTH_UNKNOWN_KEY');
  const noKid = forge({ alg: 'RS256' }, goodClaims(), (input) => rs256(input));
  t.is(refusal(noKid).code, 'SG_AUTH_UNKNOWN_KEY');
  t.false(verifierFor([rsa]).verify(noKid, NOW_MS) instanceof AuthError);
});

test('an oversized token is refused before it is decoded', (t) => {
  const big = signed(rsa, goodClaims({ padding: 'x'.repeat(9000) }));
  t.true(big.length > 8192);
  t.is(refusal(big).code, 'SG_AUTH_MALFORMED');
  t.is(refusal('a'.repeat(1_000_000)).code, 'SG_AUTH_MALFORMED');
  const small = verifierFor([rsa], { maxTokenBytes: 1024 });
  t.is(refusal(signed(rsa, goodClaims({ padding: 'x'.repeat(1000) })), NOW_MS, small).code, 'SG_AUTH_MALFORMED');
});

test('garbage is refused with a typed code, never an exception', (t) => {
  const good = signed(rsa);
  const [h = '', p = '', s = ''] = good.split('.');
  const cases: Array<[string, AuthError['code']]> = [
    ['', 'SG_AUTH_MALFORMED'],
    ['garbage', 'SG_AUTH_MALFORMED'],
    ['a.b', 'SG_AUTH_MALFORMED'],
    ['....', 'SG_AUTH_MALFORMED'],
    [`${h}.${p}.${s}.x.y`, 'SG_AUTH_MALFORMED'],
    [`${h}=.${p}.${s}`, 'SG_AUTH_MALFORMED'],
    [`${h}.${p}.${s} `, 'SG_AUTH_MALFORMED'],
    [` ${good}`, 'SG_AUTH_MALFORMED'],
    [`${h}.${p}+.${s}`, 'SG_AUTH_MALFORMED'],
    [`${b64('not json')}.${p}.${s}`, 'SG_AUTH_MALFORMED'],
    [`${b64([1, 2])}.${p}.${s}`, 'SG_AUTH_MALFORMED'],
    [`${h}.${b64('42')}.${s}`, 'SG_AUTH_MALFORMED'],
    [`${h}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.${s}`, 'SG_AUTH_MALFORMED'],
    [`${h}.${p}.${s.slice(0, -1)}`, 'SG_AUTH_MALFORMED'],
    ['é.é.é', 'SG_AUTH_MALFORMED'],
    [forge({ alg: 'RS256', kid: rsa.kid, crit: ['exp'] }, goodClaims(), rs256), 'SG_AUTH_MALFORMED'],
    [forge({ alg: 'RS256', kid: 'x'.repeat(200) }, goodClaims(), rs256), 'SG_AUTH_MALFORMED'],
    [forge({ alg: 'RS256', kid: 7 }, goodClaims(), rs256), 'SG_AUTH_MALFORMED'],
    [forge({ alg: 42, kid: rsa.kid }, goodClaims(), rs256), 'SG_AUTH_ALGORITHM'],
  ];
  for (const [token, code] of cases) {
    t.is(refusal(token).code, code, JSON.stringify(token.slice(0, 40)));
  }
});

test('non-canonical base64url (trailing bits set) is refused: one token, one encoding', (t) => {
  const good = signed(ed);
  const [h = '', p = '', s = ''] = good.split('.');
  // A 64-byte signature is 86 chars with 4 unused bits in the last one; setting one changes
  // the text but not the decoded bytes.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = s.charAt(s.length - 1);
  const twin = alphabet.charAt(alphabet.indexOf(last) + 1);
  t.is(refusal(`${h}.${p}.${s.slice(0, -1)}${twin}`).code, 'SG_AUTH_MALFORMED');
});

test('scope and limits claims are parsed into the principal, bad ones refused', (t) => {
  const principal = verifier.verify(signed(ec, goodClaims({ scope: 'attach', limits: { pids: 64, cpuCores: 0.5 } })), NOW_MS);
  if (principal instanceof AuthError) return t.fail(principal.code);
  t.deepEqual([...principal.scopes], ['attach']);
  t.deepEqual(principal.limits, { pids: 64, cpuCores: 0.5 });
  t.true(Object.isFrozen(principal.limits));
  t.is(refusal(signed(ec, goodClaims({ scope: 'pty root' }))).code, 'SG_AUTH_CLAIMS');
  t.is(refusal(signed(ec, goodClaims({ limits: { pids: -1 } }))).code, 'SG_AUTH_CLAIMS');
  t.is(refusal(signed(ec, goodClaims({ limits: { diskBytes: 1 } }))).code, 'SG_AUTH_CLAIMS');
  t.is(refusal(signed(ec, goodClaims({ jti: 'has space' }))).code, 'SG_AUTH_CLAIMS');
});

test('no refusal carries the token, its payload or its signature in message, details or stack', (t) => {
  const tokens = [
    signed(rsa, goodClaims({ exp: NOW_S - 3600 })),
    signed(rsa, goodClaims({ iss: 'x' })),
    signed(rsa, goodClaims({ aud: 'x' })),
    signed(rsa, goodClaims({ tenant: undefined })),
    signed(rsa, goodClaims({ nbf: NOW_S + 999 })),
    signed(rsa, goodClaims({ exp: NOW_S + 999_999 })),
    signed({ ...rsa, kid: 'gone' }),
    forge({ alg: 'none', kid: rsa.kid }, goodClaims()),
    forge({ alg: 'RS256', kid: rsa.kid }, goodClaims(), () => Buffer.alloc(256, 7)),
    signed(rsa, goodClaims({ padding: 'y'.repeat(9000) })),
    `${signed(rsa)}x!`,
  ];
  // A token used as a claim value must not be echoed back either (describeUntrusted).
  const inner = signed(hs);
  tokens.push(signed(rsa, goodClaims({ iss: inner })), signed(rsa, goodClaims({ tenant: inner })), signed(rsa, goodClaims({ scope: inner })));
  for (const token of tokens) {
    const error = refusal(token);
    const text = `${error.message} ${JSON.stringify(error.details)} ${error.stack ?? ''}`;
    const [, payload = '', signature = ''] = token.split('.');
    t.false(text.includes(token), error.code);
    t.false(payload.length > 16 && text.includes(payload), `${error.code} leaks the payload`);
    t.false(signature.length > 16 && text.includes(signature), `${error.code} leaks the signature`);
    t.false(text.includes(inner), `${error.code} leaks a token-valued claim`);
  }
});
