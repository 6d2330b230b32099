import type { AuthConfig } from './auth-config.js';
import { AuthError, describeUntrusted } from './auth-error.js';
import { TOKEN_LIMIT_FIELDS, type TokenLimitName, type TokenLimits } from './effective-limits.js';
import { createPrincipal, isScope, type Principal, type Scope } from './principal.js';

/** What the claims are checked against: a slice of the auth config. */
export type ClaimsPolicy = Pick<AuthConfig, 'issuer' | 'audience' | 'maxLifetimeMs' | 'clockToleranceMs' | 'defaultScopes'>;

/**
 * `sub` and `tenant`: 1–128 chars of [A-Za-z0-9._@-], starting with a letter or digit. Both
 * end up in cgroup names, Redis keys and logs: no "/", no "..", no leading "-", no spaces.
 */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
/** `jti`: 1–128 printable ASCII chars (RFC 7519 §4.1.7 leaves it free-form). */
const TOKEN_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
/** Most entries read from `aud` (array form) and `scope`. */
const MAX_LIST_ITEMS = 16;
/** Longest `scope` string, chars. */
const MAX_SCOPE_CHARS = 256;

/**
 * Checks a signature-verified payload and builds the principal. Order: iss, aud, the time
 * claims (exp required; exp, nbf, iat with `clockToleranceMs`), the lifetime, then sub,
 * tenant, scope, limits, jti. Times are NumericDate seconds (RFC 7519 §2); `nowMs` is ms.
 */
export function validateClaims(payload: Readonly<Record<string, unknown>>, policy: ClaimsPolicy, nowMs: number): Principal | AuthError {
  const iss = payload['iss'];
  if (typeof iss !== 'string' || !policy.issuer.includes(iss)) {
    return new AuthError('SG_AUTH_ISSUER', 'The token iss is not one of auth.issuer.', { iss: describeUntrusted(iss), expected: policy.issuer });
  }
  const audError = checkAudience(payload['aud'], policy.audience);
  if (audError !== undefined) return audError;

  const exp = numericDate(payload, 'exp', true);
  if (exp instanceof AuthError) return exp;
  const nbf = numericDate(payload, 'nbf', false);
  if (nbf instanceof AuthError) return nbf;
  const iat = numericDate(payload, 'iat', false);
  if (iat instanceof AuthError) return iat;
  const expMs = (exp ?? 0) * 1000;
  const tolerance = policy.clockToleranceMs;
  // RFC 7519 §4.1.4: the current time must be before exp.
  if (nowMs >= expMs + tolerance) {
    return new AuthError('SG_AUTH_EXPIRED', 'The token has expired.', { expiredAt: isoTime(expMs), option: 'auth.clockToleranceMs' });
  }
  // RFC 7519 §4.1.5: the current time must be at or after nbf.
  if (nbf !== undefined && nbf * 1000 > nowMs + tolerance) {
    return new AuthError('SG_AUTH_NOT_YET_VALID', 'The token is not valid yet (nbf).', { claim: 'nbf', validFrom: isoTime(nbf * 1000) });
  }
  // An iat in the future is a clock far off or a token made to look younger than it is.
  if (iat !== undefined && iat * 1000 > nowMs + tolerance) {
    return new AuthError('SG_AUTH_NOT_YET_VALID', 'The token was issued in the future (iat).', { claim: 'iat', issuedAt: isoTime(iat * 1000) });
  }
  // The lifetime runs from the earlier of iat and now, so a future iat cannot shorten it.
  const lifetimeMs = expMs - Math.min(iat === undefined ? nowMs : iat * 1000, nowMs);
  if (lifetimeMs > policy.maxLifetimeMs + tolerance) {
    return new AuthError('SG_AUTH_LIFETIME_TOO_LONG', `The token lives ${Math.round(lifetimeMs / 1000)} s, longer than auth.maxLifetimeMs.`, {
      lifetimeMs: Math.round(lifetimeMs),
      limit: 'auth.maxLifetimeMs',
      maxLifetimeMs: policy.maxLifetimeMs,
    });
  }

  const user = payload['sub'];
  if (typeof user !== 'string' || !IDENTIFIER_PATTERN.test(user)) return badClaim('sub', user, 'is missing or not 1–128 chars of [A-Za-z0-9._@-]');
  const tenant = payload['tenant'];
  if (typeof tenant !== 'string' || !IDENTIFIER_PATTERN.test(tenant)) {
    return badClaim('tenant', tenant, 'is missing or not 1–128 chars of [A-Za-z0-9._@-]');
  }
  const scopes = parseScopes(payload['scope'], policy.defaultScopes);
  if (scopes instanceof AuthError) return scopes;
  const limits = parseTokenLimits(payload['limits']);
  if (limits instanceof AuthError) return limits;
  const jti = payload['jti'];
  if (jti !== undefined && (typeof jti !== 'string' || !TOKEN_ID_PATTERN.test(jti))) return badClaim('jti', jti, 'is not 1–128 printable ASCII chars');

  return createPrincipal({ tenant, user, scopes, limits, tokenId: jti, expiresAtMs: expMs });
}

/**
 * The `scope` claim: a space-separated string (RFC 8693 §4.2) or an array of strings, each one
 * of pty, exec, attach. Absent: `defaults`. Unknown or empty: refused, since a token that
 * names a permission sandgate does not know was meant for something else.
 */
export function parseScopes(raw: unknown, defaults: readonly Scope[]): ReadonlySet<Scope> | AuthError {
  if (raw === undefined) return new Set(defaults);
  let names: readonly unknown[];
  if (typeof raw === 'string') {
    if (raw.length > MAX_SCOPE_CHARS) return badClaim('scope', raw, `is longer than ${MAX_SCOPE_CHARS} chars`);
    names = raw.split(' ').filter((name) => name !== '');
  } else if (Array.isArray(raw)) {
    names = raw;
  } else {
    return badClaim('scope', raw, 'must be a space-separated string or an array of strings');
  }
  if (names.length === 0) return badClaim('scope', raw, 'is empty: the token would grant nothing');
  if (names.length > MAX_LIST_ITEMS) return badClaim('scope', raw, `has more than ${MAX_LIST_ITEMS} entries`);
  const scopes = new Set<Scope>();
  for (const name of names) {
    if (!isScope(name)) return badClaim('scope', name, 'names an unknown scope (known: pty, exec, attach)');
    scopes.add(name);
  }
  return scopes;
}

/**
 * The optional `limits` claim: an object of TOKEN_LIMIT_FIELDS, each a positive number
 * (integers except cpuCores). Unknown fields are refused: a limit the issuer meant to impose
 * and sandgate would not enforce must not pass silently.
 */
export function parseTokenLimits(raw: unknown): TokenLimits | AuthError {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return badClaim('limits', raw, 'must be an object');
  const limits: { -readonly [K in TokenLimitName]?: number } = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!isTokenLimitName(name)) return badClaim('limits', name, `has an unknown field (known: ${Object.keys(TOKEN_LIMIT_FIELDS).join(', ')})`);
    const { integer } = TOKEN_LIMIT_FIELDS[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > Number.MAX_SAFE_INTEGER || (integer && !Number.isInteger(value))) {
      return badClaim(`limits.${name}`, value, `must be a positive ${integer ? 'integer' : 'number'}`);
    }
    limits[name] = value;
  }
  return limits;
}

function isTokenLimitName(name: string): name is TokenLimitName {
  return Object.prototype.hasOwnProperty.call(TOKEN_LIMIT_FIELDS, name);
}

/** RFC 7519 §4.1.3: aud is one string or an array; it passes when any entry is configured. */
function checkAudience(aud: unknown, accepted: readonly string[]): AuthError | undefined {
  const entries: readonly unknown[] = Array.isArray(aud) ? aud.slice(0, MAX_LIST_ITEMS) : [aud];
  if (entries.some((entry) => typeof entry === 'string' && accepted.includes(entry))) return undefined;
  return new AuthError('SG_AUTH_AUDIENCE', 'The token aud names none of auth.audience.', { aud: describeUntrusted(aud), expected: accepted });
}

/** A NumericDate claim in seconds (finite, ≥ 0); undefined when absent and optional. */
function numericDate(payload: Readonly<Record<string, unknown>>, claim: 'exp' | 'nbf' | 'iat', required: boolean): number | undefined | AuthError {
  const value = payload[claim];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return badClaim(claim, value, required ? 'is required: a NumericDate in seconds' : 'must be a NumericDate in seconds');
  }
  return value;
}

function badClaim(claim: string, value: unknown, problem: string): AuthError {
  return new AuthError('SG_AUTH_CLAIMS', `The token claim ${claim} ${problem}.`, { claim, value: describeUntrusted(value) });
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
