import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JwtAlgorithm } from './jwt-algorithm.js';

/**
 * The JWS signature primitives, one algorithm at a time. RS256, ES256 and HS256 go through
 * jsonwebtoken (which also re-checks the key type against the algorithm). EdDSA does not:
 * jsonwebtoken 9 signs and verifies through jwa, whose algorithm table is
 * /^(RS|PS|ES|HS)(256|384|512)$|^none$/ (jwa 2.x index.js), so EdDSA (RFC 8037 §3.1) is done
 * here with node:crypto's one-shot Ed25519 sign/verify, which takes no digest (`null`).
 */

/**
 * Whether `signature` is a valid `alg` signature by `key` over `token`'s signing input.
 * The caller has already checked that `alg` is the key's pinned algorithm; passing exactly
 * that one algorithm to jsonwebtoken keeps the library from choosing another.
 */
export function verifyJwsSignature(
  token: string,
  signingInput: string,
  signature: Buffer,
  key: KeyObject,
  alg: JwtAlgorithm,
): boolean {
  if (signature.length === 0) return false;
  try {
    if (alg === 'EdDSA') {
      return cryptoVerify(null, Buffer.from(signingInput, 'ascii'), key, signature);
    }
    // Only the signature: the claims are checked by claims.ts for all four algorithms alike.
    jwt.verify(token, key, { algorithms: [alg], ignoreExpiration: true, ignoreNotBefore: true });
    return true;
  } catch {
    // Every failure here (bad signature, wrong length, key/alg mismatch) means "does not
    // verify"; the caller turns it into SG_AUTH_BAD_SIGNATURE.
    return false;
  }
}

/**
 * A compact JWS of `payload` with header `{alg, typ: "JWT", kid}`. The key must already be
 * pinned to `alg` (token-signer.ts does it when it loads the key).
 */
export function signJws(payload: Readonly<Record<string, unknown>>, key: KeyObject, alg: JwtAlgorithm, kid: string): string {
  if (alg === 'EdDSA') {
    const header = { alg, typ: 'JWT', kid };
    const signingInput = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
    const signature = cryptoSign(null, Buffer.from(signingInput, 'ascii'), key);
    return `${signingInput}.${signature.toString('base64url')}`;
  }
  return jwt.sign({ ...payload }, key, { algorithm: alg, keyid: kid });
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
