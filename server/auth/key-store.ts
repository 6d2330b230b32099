import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { SandgateError } from '../errors/sandgate-error.js';
import type { VerificationKeySource } from './auth-config.js';
import { KID_PATTERN, pinnedAlgorithm, type JwtAlgorithm } from './jwt-algorithm.js';

/** A key ready to verify: its kid, the one algorithm it is pinned to, the KeyObject. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject;
}

/** Largest key, secret or JWKS file read, bytes (a JWKS of 64 RSA-4096 keys is ~50 KiB). */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;
/** Most verification keys held at once (rotation needs two or three). */
export const MAX_VERIFICATION_KEYS = 64;

/**
 * The verification keys, by kid. Immutable: rotation builds a new store from the new config
 * (add the new key, switch the signer, remove the old key once its tokens have expired) and
 * hands it to a new TokenVerifier.
 */
export class KeyStore {
  readonly #byKid: ReadonlyMap<string, VerificationKey>;

  private constructor(byKid: ReadonlyMap<string, VerificationKey>) {
    this.#byKid = byKid;
  }

  /** Refuses an empty set, duplicate kids, and more than MAX_VERIFICATION_KEYS. */
  static fromKeys(keys: readonly VerificationKey[], option = 'auth.keys'): KeyStore {
    if (keys.length === 0) fail(option, 'is empty: no token could ever verify');
    if (keys.length > MAX_VERIFICATION_KEYS) fail(option, `holds ${keys.length} keys, more than ${MAX_VERIFICATION_KEYS}`);
    const byKid = new Map<string, VerificationKey>();
    for (const key of keys) {
      if (byKid.has(key.kid)) fail(option, `has kid "${key.kid}" twice: kids must tell keys apart`);
      byKid.set(key.kid, Object.freeze({ ...key }));
    }
    return new KeyStore(byKid);
  }

  get size(): number {
    return this.#byKid.size;
  }

  get kids(): readonly string[] {
    return [...this.#byKid.keys()];
  }

  get(kid: string): VerificationKey | undefined {
    return this.#byKid.get(kid);
  }

  /** The only key, when exactly one is configured: what a token without `kid` may use. */
  sole(): VerificationKey | undefined {
    if (this.#byKid.size !== 1) return undefined;
    const [only] = this.#byKid.values();
    return only;
  }
}

/** Reads every configured source (PEM text or file, JWKS file, secret or secret file). */
export async function loadKeyStore(sources: readonly VerificationKeySource[], option = 'auth.keys'): Promise<KeyStore> {
  const keys: VerificationKey[] = [];
  for (const source of sources) {
    switch (source.kind) {
      case 'publicKeyPem':
        keys.push(publicKeyFromPem(source.kid, source.pem, source.alg, source.option));
        break;
      case 'publicKeyFile':
        keys.push(publicKeyFromPem(source.kid, await readKeyFile(source.path, source.option), source.alg, source.option));
        break;
      case 'jwksFile':
        keys.push(...keysFromJwks(parseJson(await readKeyFile(source.path, source.option), source.option), source.option));
        break;
      case 'secret':
        keys.push(pin(source.kid, createSecretKey(Buffer.from(source.secret, 'utf8')), source.alg, source.option));
        break;
      case 'secretFile':
        keys.push(pin(source.kid, createSecretKey(secretFileBytes(await readKeyFile(source.path, source.option))), source.alg, source.option));
        break;
    }
  }
  return KeyStore.fromKeys(keys, option);
}

/** One public key from PEM (SPKI or PKCS#1). Private keys are refused: keep them off the verifier. */
export function publicKeyFromPem(kid: string, pem: string, alg: JwtAlgorithm | undefined, option: string): VerificationKey {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    fail(option, 'holds a private key where a public key belongs: give the verifier only the public half');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    fail(option, 'is not a PEM public key', error);
  }
  return pin(kid, key, alg, option);
}

/**
 * The keys of a JWKS document (RFC 7517 §5): RSA, EC P-256 and OKP Ed25519 public keys, each
 * with a kid, pinned to the algorithm of its type (a JWK `alg`, if present, must agree).
 * Keys with `use` other than "sig" are skipped (an IdP's set may hold encryption keys);
 * symmetric ("oct") keys and private members are refused.
 */
export function keysFromJwks(document: unknown, option: string): VerificationKey[] {
  if (!isRecord(document) || !Array.isArray(document['keys'])) fail(option, 'is not a JWKS: expected {"keys": [...]}');
  const keys: VerificationKey[] = [];
  for (const [index, jwk] of document['keys'].entries()) {
    const at = `${option} keys[${index}]`;
    if (!isRecord(jwk)) fail(at, 'is not a JWK object');
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') continue;
    const kid = jwk['kid'];
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) fail(at, 'needs a kid (1–128 printable ASCII chars): tokens pick keys by kid');
    const secretMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'].filter((m) => jwk[m] !== undefined);
    if (jwk['kty'] === 'oct' || secretMembers.length > 0) {
      fail(at, `(kid "${kid}") holds secret or private key material: a JWKS here lists public keys only`);
    }
    const declared = jwk['alg'];
    if (declared !== undefined && typeof declared !== 'string') fail(at, `(kid "${kid}") has a non-string alg`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: publicJwk(jwk), format: 'jwk' });
    } catch (error) {
      fail(at, `(kid "${kid}") is not a usable RSA, EC or OKP public key`, error);
    }
    const pinned = pin(kid, key, undefined, at);
    if (declared !== undefined && declared !== pinned.alg) {
      fail(at, `(kid "${kid}") declares alg ${declared}, but its key type is pinned to ${pinned.alg}`);
    }
    keys.push(pinned);
  }
  return keys;
}

/** Pins `key` to its type's algorithm and checks it against the declared one, if any. */
export function pin(kid: string, key: KeyObject, declared: JwtAlgorithm | undefined, option: string): VerificationKey {
  const pinned = pinnedAlgorithm(key);
  if (typeof pinned !== 'string') fail(option, `(kid "${kid}"): ${pinned.refusal}`);
  if (declared !== undefined && declared !== pinned) {
    fail(`${option}.alg`, `is ${declared}, but this key can only be used with ${pinned}`);
  }
  return Object.freeze({ kid, alg: pinned, key });
}

/** The public members only, as strings, so nothing unexpected reaches the JWK importer. */
function publicJwk(jwk: Record<string, unknown>): JsonWebKey {
  const out: JsonWebKey = {};
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e'] as const) {
    const value = jwk[member];
    if (typeof value === 'string') out[member] = value;
  }
  return out;
}

/**
 * A secret file's bytes without one trailing newline: `echo secret > file` and Kubernetes
 * secrets made from such files end with one, which the issuer did not sign with.
 */
export function secretFileBytes(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n$/, ''), 'utf8');
}

/** Reads a key, secret or JWKS file, bounded by MAX_KEY_FILE_BYTES. */
export async function readKeyFile(path: string, option: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) fail(option, `names ${path}, which is not a regular file`);
    if (info.size > MAX_KEY_FILE_BYTES) fail(option, `names ${path}, larger than ${MAX_KEY_FILE_BYTES} bytes`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof SandgateError) throw error;
    fail(option, `names ${path}, which cannot be read`, error);
  }
}

function parseJson(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // No cause: V8's JSON errors quote the text around the fault, which may be key material.
    fail(option, 'is not valid JSON');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(option: string, problem: string, cause?: unknown): never {
  // Causes come from fs and the key parsers; neither puts key material in its message.
  throw new SandgateError('SG_CONFIG_INVALID', `${option} ${problem}.`, { option }, cause === undefined ? undefined : { cause });
}
