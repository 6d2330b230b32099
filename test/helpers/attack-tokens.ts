import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';

/**
 * Tokens an attacker would send, made by hand with node:crypto so that nothing in sandgate's
 * own signer can refuse to make them: `alg: none`, HS256 "signed" with an RSA public key PEM
 * (algorithm confusion, RFC 8725 §2.1), bad claims under a real signature, a tampered payload.
 * The keys are generated per test run; their public halves go in the gateway's `auth.keys`.
 */

export interface TestKey {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'RS256';
  readonly privateKey: KeyObject;
  /** SPKI PEM text, as configured in auth.keys[].publicKeyPem. */
  readonly publicKeyPem: string;
}

export interface TestKeys {
  readonly ed: TestKey;
  readonly rsa: TestKey;
  /** The `auth.keys` entries that verify both. */
  readonly authKeys: readonly Record<string, string>[];
}

/** An Ed25519 key (kid `attack-ed`) and an RSA-2048 key (kid `attack-rsa`, RS256). */
export function makeTestKeys(): TestKeys {
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const edKey: TestKey = { kid: 'attack-ed', alg: 'EdDSA', privateKey: ed.privateKey, publicKeyPem: pem(ed.publicKey) };
  const rsaKey: TestKey = { kid: 'attack-rsa', alg: 'RS256', privateKey: rsa.privateKey, publicKeyPem: pem(rsa.publicKey) };
  return {
    ed: edKey,
    rsa: rsaKey,
    authKeys: [edKey, rsaKey].map((k) => ({ kid: k.kid, alg: k.alg, publicKeyPem: k.publicKeyPem })),
  };
}

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export type Claims = Record<string, unknown>;

/** Valid claims for `tenant`/`user` under the default issuer and audience, now ± 10 min. */
export function goodClaims(overrides: Claims = {}, nowMs = Date.now()): Claims {
  const now = Math.floor(nowMs / 1000);
  return { iss: 'sandgate', aud: 'sandgate', sub: 'mallory', tenant: 'acme', iat: now, exp: now + 600, scope: 'pty exec', ...overrides };
}

/** Drops `name` from the claims. */
export function without(claims: Claims, name: string): Claims {
  const { [name]: _dropped, ...rest } = claims;
  return rest;
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A correctly signed compact JWS of `claims` with `key` (bad claims are the point, not the signature). */
export function signed(key: TestKey, claims: Claims): string {
  const input = `${segment({ alg: key.alg, typ: 'JWT', kid: key.kid })}.${segment(claims)}`;
  const signature = key.alg === 'EdDSA' ? cryptoSign(null, Buffer.from(input), key.privateKey) : cryptoSign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** `alg: none` with an empty signature, naming a real kid. */
export function algNone(kid: string, claims: Claims): string {
  return `${segment({ alg: 'none', typ: 'JWT', kid })}.${segment(claims)}.`;
}

/** HS256 over the token with the RSA public key's PEM text as the HMAC secret (the classic confusion). */
export function hs256WithPublicPem(key: TestKey, claims: Claims): string {
  const input = `${segment({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${segment(claims)}`;
  const signature = createHmac('sha256', key.publicKeyPem).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/** A good token whose payload was swapped for `claims`, keeping the original signature. */
export function tampered(goodToken: string, claims: Claims): string {
  const [header, , signature] = goodToken.split('.');
  return `${header}.${segment(claims)}.${signature}`;
}
