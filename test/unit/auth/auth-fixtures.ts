import test from 'ava';
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTH_DEFAULTS, type AuthConfig } from '../../../server/auth/auth-config.js';
import type { JwtAlgorithm } from '../../../server/auth/jwt-algorithm.js';
import { KeyStore, pin, type VerificationKey } from '../../../server/auth/key-store.js';
import { TokenVerifier } from '../../../server/auth/token-verifier.js';

/** Real keys, one per algorithm, made once per test file (RSA generation takes a moment). */
export interface KeyPairFixture {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  /** Signs (private key or secret). */
  readonly signing: KeyObject;
  /** Verifies (public key or the same secret). */
  readonly verification: KeyObject;
}

export function makeKeyPair(alg: JwtAlgorithm, kid: string = `${alg.toLowerCase()}-1`): KeyPairFixture {
  switch (alg) {
    case 'RS256': {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { kid, alg, signing: privateKey, verification: publicKey };
    }
    case 'ES256': {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { kid, alg, signing: privateKey, verification: publicKey };
    }
    case 'EdDSA': {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return { kid, alg, signing: privateKey, verification: publicKey };
    }
    case 'HS256': {
      const secret = createSecretKey(randomBytes(32));
      return { kid, alg, signing: secret, verification: secret };
    }
  }
}

export function verificationKey(pair: KeyPairFixture): VerificationKey {
  return pin(pair.kid, pair.verification, pair.alg, 'test');
}

export const NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0);
export const NOW_S = NOW_MS / 1000;

export const POLICY: AuthConfig = AUTH_DEFAULTS;

export function verifierFor(pairs: readonly KeyPairFixture[], policy: Partial<AuthConfig> = {}): TokenVerifier {
  return new TokenVerifier({ ...POLICY, ...policy }, KeyStore.fromKeys(pairs.map(verificationKey)));
}

/** The claims of a token that passes under POLICY at NOW_MS. */
export function goodClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: 'sandgate', aud: 'sandgate', sub: 'alice', tenant: 'acme', iat: NOW_S, exp: NOW_S + 3600, ...overrides };
}

/**
 * A correctly signed token with any claims, made with node:crypto directly: an implementation
 * independent of the one under test (jsonwebtoken would also refuse to sign bad claims).
 */
export function signed(pair: KeyPairFixture, claims: Record<string, unknown> = goodClaims()): string {
  return forge({ alg: pair.alg, typ: 'JWT', kid: pair.kid }, claims, rawSigner(pair));
}

export function rawSigner(pair: KeyPairFixture): (input: string) => Buffer {
  return (input) => {
    const data = Buffer.from(input, 'ascii');
    switch (pair.alg) {
      case 'RS256':
        return cryptoSign('sha256', data, pair.signing);
      case 'ES256':
        // JWS wants R || S, not DER (RFC 7518 §3.4).
        return cryptoSign('sha256', data, { key: pair.signing, dsaEncoding: 'ieee-p1363' });
      case 'EdDSA':
        return cryptoSign(null, data, pair.signing);
      case 'HS256':
        return createHmac('sha256', pair.signing).update(data).digest();
    }
  };
}

export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/** A token assembled by hand, for attacks: any header, any payload, any signer. */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, signWith?: (input: string) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signWith === undefined ? '' : signWith(input).toString('base64url')}`;
}

const tempDirs: string[] = [];
// Registered in every test file that imports the fixtures: the directories go with the file.
test.after.always(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A private temporary directory, removed after the test file. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sandgate-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}
