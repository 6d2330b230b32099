import type { KeyObject } from 'node:crypto';

/**
 * The four JWS algorithms sandgate accepts, each pinned to exactly one key type, so a key can
 * verify only its own algorithm: an RSA key only RS256, an EC P-256 key only ES256, an Ed25519
 * key only EdDSA (RFC 8037), a secret only HS256. This is what stops `alg: none` and the
 * HS256-signed-with-the-RSA-public-key confusion (RFC 8725 §2.1, §3.1): the token's `alg` is
 * checked against its key's pinned algorithm before any signature is computed.
 */
export const JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const JWT_ALGORITHMS_SET: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && JWT_ALGORITHMS_SET.has(value);
}

/** RSA moduli below 2048 bits are refused (NIST SP 800-131A; RFC 7518 §3.3 requires ≥ 2048). */
export const MIN_RSA_MODULUS_BITS = 2048;
/** HS256 secrets must be at least as long as the hash output (RFC 7518 §3.2), bytes. */
export const MIN_HMAC_SECRET_BYTES = 32;

/**
 * The one algorithm a key may be used with, or a sentence saying why the key is unusable.
 * Works for public, private and secret keys alike (the signer pins its keys the same way).
 */
export function pinnedAlgorithm(key: KeyObject): JwtAlgorithm | { readonly refusal: string } {
  if (key.type === 'secret') {
    const bytes = key.symmetricKeySize ?? 0;
    return bytes >= MIN_HMAC_SECRET_BYTES
      ? 'HS256'
      : { refusal: `an HS256 secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes (RFC 7518 §3.2), this one has ${bytes}` };
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      return bits >= MIN_RSA_MODULUS_BITS
        ? 'RS256'
        : { refusal: `an RS256 key needs a modulus of at least ${MIN_RSA_MODULUS_BITS} bits, this one has ${bits}` };
    }
    case 'ec':
      return details.namedCurve === 'prime256v1'
        ? 'ES256'
        : { refusal: `only the P-256 curve (ES256) is supported, this key is on ${details.namedCurve ?? 'an unknown curve'}` };
    case 'ed25519':
      return 'EdDSA';
    default:
      return { refusal: `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (use RSA, EC P-256, Ed25519 or an HS256 secret)` };
  }
}

/**
 * What a `kid` may look like, in config and in token headers: 1–128 printable ASCII chars
 * without spaces. RFC 7515 §4.1.4 leaves kid free-form; bounding it keeps it safe to log.
 */
export const KID_PATTERN = /^[\x21-\x7e]{1,128}$/;
