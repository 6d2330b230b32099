import { AuthError, describeUntrusted } from './auth-error.js';
import { KID_PATTERN } from './jwt-algorithm.js';

/** A compact JWS split and decoded, not yet verified: nothing in it is trusted. */
export interface DecodedJwt {
  readonly header: {
    /** As sent; compared against the key's pinned algorithm before any verification. */
    readonly alg: string;
    readonly kid?: string;
  };
  readonly payload: Readonly<Record<string, unknown>>;
  /** `base64url(header) + "." + base64url(payload)`: the bytes the signature covers (RFC 7515 §5.2). */
  readonly signingInput: string;
  readonly signature: Buffer;
}

const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

/**
 * Splits and decodes a compact JWS (RFC 7515 §7.1) before anything else looks at it: bounded
 * by `maxTokenBytes` first, then strict base64url (no padding, canonical) and JSON objects.
 * Refuses `crit` (RFC 7515 §4.1.11: we understand no extension) and JWE (five parts).
 * Header members that name other keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored: the key is
 * chosen from the configured ones by `kid` only (RFC 8725 §3.10).
 */
export function decodeJwt(token: string, maxTokenBytes: number): DecodedJwt | AuthError {
  // Token chars are ASCII once the pattern below matches, so length is bytes; a longer
  // string is refused before the pattern runs over it.
  if (token.length > maxTokenBytes) {
    return malformed(`The token is longer than auth.maxTokenBytes (${maxTokenBytes} bytes).`, { limit: 'auth.maxTokenBytes', bytes: token.length });
  }
  const parts = COMPACT_JWS.exec(token);
  if (parts === null) {
    return malformed('The token is not a compact JWS (three base64url parts separated by dots).');
  }
  const [, headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeJsonPart(headerPart, 'header');
  if (header instanceof AuthError) return header;
  const payload = decodeJsonPart(payloadPart, 'payload');
  if (payload instanceof AuthError) return payload;
  const signature = decodeBase64Url(signaturePart);
  if (signature === undefined) return malformed('The token signature is not canonical base64url.', { part: 'signature' });

  const alg = header['alg'];
  if (typeof alg !== 'string' || alg.length === 0) {
    return new AuthError('SG_AUTH_ALGORITHM', 'The token header has no alg.', { alg: describeUntrusted(alg) });
  }
  if (header['crit'] !== undefined) {
    return malformed('The token header has crit: no JWS extension is supported (RFC 7515 §4.1.11).', { part: 'header' });
  }
  const kid = header['kid'];
  if (kid !== undefined && (typeof kid !== 'string' || !KID_PATTERN.test(kid))) {
    return malformed('The token kid is not 1–128 printable ASCII chars.', { part: 'header', kid: describeUntrusted(kid) });
  }
  return {
    header: kid === undefined ? { alg } : { alg, kid },
    payload,
    signingInput: `${headerPart}.${payloadPart}`,
    signature,
  };
}

function decodeJsonPart(part: string, name: 'header' | 'payload'): Record<string, unknown> | AuthError {
  const bytes = decodeBase64Url(part);
  if (bytes === undefined) return malformed(`The token ${name} is not canonical base64url.`, { part: name });
  let value: unknown;
  try {
    // fatal: invalid UTF-8 is refused rather than replaced, so what was signed is what is read.
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // No cause: V8's JSON error quotes the text, which is part of the token.
    return malformed(`The token ${name} is not UTF-8 JSON.`, { part: name });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return malformed(`The token ${name} is not a JSON object.`, { part: name });
  }
  return Object.fromEntries(Object.entries(value));
}

/**
 * Strict base64url (RFC 4648 §5, no padding as RFC 7515 §2 requires): Buffer.from accepts
 * anything, so the result is re-encoded and compared, refusing non-canonical trailing bits
 * and impossible lengths — one token, one encoding.
 */
function decodeBase64Url(part: string): Buffer | undefined {
  if (part.length % 4 === 1) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : undefined;
}

function malformed(message: string, details: Record<string, unknown> = {}): AuthError {
  return new AuthError('SG_AUTH_MALFORMED', message, details);
}
