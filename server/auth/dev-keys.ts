import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SandgateError } from '../errors/sandgate-error.js';
import type { SigningKeySource, VerificationKeySource } from './auth-config.js';
import { pinnedAlgorithm } from './jwt-algorithm.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export type DevKeyAlgorithm = 'EdDSA' | 'ES256';

export const DEV_PRIVATE_KEY_FILE = 'sandgate-dev-signing-key.pem';
export const DEV_PUBLIC_KEY_FILE = 'sandgate-dev-public-key.pem';

export interface DevKeys {
  readonly kid: string;
  readonly alg: DevKeyAlgorithm;
  readonly privateKeyFile: string;
  readonly publicKeyFile: string;
  /** False when an existing, matching pair was reused. */
  readonly created: boolean;
  /** Ready to append to AuthConfig.keys. */
  readonly verificationKey: VerificationKeySource;
  /** Ready to append to AuthConfig.signingKeys. */
  readonly signingKey: SigningKeySource;
}

/**
 * A development keypair under `dir` for `npm start` to mint a ready token with: Ed25519
 * (EdDSA) by default, or EC P-256 (ES256). The directory is made 0700 and both files 0600,
 * written to a temporary name and renamed, so a half-written key is never read. An existing
 * pair of the same algorithm is reused, so tokens printed by an earlier start stay valid;
 * one readable by group or others is refused rather than used, as ssh does with its keys.
 * The kid is `dev-` plus the start of the public key's RFC 7638 thumbprint.
 */
export async function generateDevKeys(dir: string, options: { readonly alg?: DevKeyAlgorithm } = {}): Promise<DevKeys> {
  const alg = options.alg ?? 'EdDSA';
  const privateKeyFile = join(dir, DEV_PRIVATE_KEY_FILE);
  const publicKeyFile = join(dir, DEV_PUBLIC_KEY_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  let publicKey = await existingPair(privateKeyFile, publicKeyFile, alg);
  const created = publicKey === undefined;
  if (publicKey === undefined) {
    const pair = alg === 'EdDSA' ? await generateKeyPairAsync('ed25519') : await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
    await writePrivateFile(privateKeyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    await writePrivateFile(publicKeyFile, pair.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    publicKey = pair.publicKey;
  }
  const kid = `dev-${jwkThumbprint(publicKey).slice(0, 16)}`;
  const option = `dev keys in ${dir}`;
  return Object.freeze({
    kid,
    alg,
    privateKeyFile,
    publicKeyFile,
    created,
    verificationKey: Object.freeze({ kind: 'publicKeyFile', kid, alg, path: publicKeyFile, option }),
    signingKey: Object.freeze({ kind: 'privateKeyFile', kid, alg, path: privateKeyFile, option }),
  });
}

/** The public key of a usable existing pair, or undefined when there is none to reuse. */
async function existingPair(privateKeyFile: string, publicKeyFile: string, alg: DevKeyAlgorithm): Promise<KeyObject | undefined> {
  const info = await lstat(privateKeyFile).catch((error: unknown) => {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  });
  if (info === undefined) return undefined;
  if (!info.isFile() || (info.mode & 0o077) !== 0) {
    throw new SandgateError('SG_CONFIG_INVALID', `${privateKeyFile} is not a regular file of mode 0600: remove it or fix its mode.`, { path: privateKeyFile });
  }
  try {
    const privateKey = createPrivateKey(await readFile(privateKeyFile, 'utf8'));
    const derived = createPublicKey(privateKey);
    const stored = createPublicKey(await readFile(publicKeyFile, 'utf8'));
    const same = derived.export({ type: 'spki', format: 'der' }).equals(stored.export({ type: 'spki', format: 'der' }));
    return same && pinnedAlgorithm(derived) === alg ? derived : undefined;
  } catch {
    // Unreadable, torn or mismatched pair (e.g. a crash between the two renames): replace it.
    return undefined;
  }
}

async function writePrivateFile(path: string, contents: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await writeFile(temporary, contents, { mode: 0o600, flag: 'wx' });
  await chmod(temporary, 0o600); // the umask can only clear bits; make the mode exact
  await rename(temporary, path);
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members =
    jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members), 'utf8').digest('base64url');
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
