import { SandgateError } from '../errors/sandgate-error.js';
import { isJwtAlgorithm, KID_PATTERN, type JwtAlgorithm } from './jwt-algorithm.js';
import { ANY_ORIGIN, normaliseOrigin } from './origin-check.js';
import { isScope, type Scope } from './principal.js';

/**
 * The `auth` section of the gateway config: its schema (the interfaces below), its defaults
 * (AUTH_DEFAULTS) and its validation (parseAuthConfig), run once at start-up. The config
 * module owns where the section comes from (file, flags, env); this file owns what it means.
 * docs/auth.md documents every field.
 */

/** Where one verification key (or, for a JWKS, a set of them) comes from. */
export type VerificationKeySource =
  | { readonly kind: 'publicKeyPem'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly pem: string; readonly option: string }
  | { readonly kind: 'publicKeyFile'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly path: string; readonly option: string }
  | { readonly kind: 'jwksFile'; readonly path: string; readonly option: string }
  | { readonly kind: 'secret'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly secret: string; readonly option: string }
  | { readonly kind: 'secretFile'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly path: string; readonly option: string };

/** Where a key that `sandgate token` (and the dev start) signs with comes from. */
export type SigningKeySource =
  | { readonly kind: 'privateKeyFile'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly path: string; readonly option: string }
  | { readonly kind: 'secret'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly secret: string; readonly option: string }
  | { readonly kind: 'secretFile'; readonly kid: string; readonly alg?: JwtAlgorithm; readonly path: string; readonly option: string };

export interface AuthConfig {
  /** Accepted `iss` values; tokens minted by `sandgate token` carry the first. */
  readonly issuer: readonly string[];
  /** Accepted `aud` values (a token matches when any of its audiences is listed); minted tokens carry the first. */
  readonly audience: readonly string[];
  /** Longest token lifetime accepted, ms: exp − iat (or exp − now without iat). Default 24 h. */
  readonly maxLifetimeMs: number;
  /** Clock skew forgiven on exp, nbf and iat, ms. Default 30 s. */
  readonly clockToleranceMs: number;
  /** Longest token accepted, bytes, checked before any decoding. Default 8 KiB. */
  readonly maxTokenBytes: number;
  /** Scopes of a token without a `scope` claim. Default pty + exec. */
  readonly defaultScopes: readonly Scope[];
  /** Browser origins allowed to connect (scheme://host[:port], normalised), or `*`. Default none. */
  readonly allowedOrigins: readonly string[];
  /** Verification keys, chosen by the token's `kid`. Several at once for rotation. */
  readonly keys: readonly VerificationKeySource[];
  /** Keys `sandgate token` may sign with, chosen by `--kid` when there are several. */
  readonly signingKeys: readonly SigningKeySource[];
}

const HOUR_MS = 3600 * 1000;

export const AUTH_DEFAULTS: AuthConfig = Object.freeze({
  issuer: Object.freeze(['sandgate']),
  audience: Object.freeze(['sandgate']),
  maxLifetimeMs: 24 * HOUR_MS,
  clockToleranceMs: 30 * 1000,
  maxTokenBytes: 8 * 1024,
  defaultScopes: Object.freeze<Scope[]>(['pty', 'exec']),
  allowedOrigins: Object.freeze<string[]>([]),
  keys: Object.freeze<VerificationKeySource[]>([]),
  signingKeys: Object.freeze<SigningKeySource[]>([]),
});

/** What validation accepts, with units. */
export const AUTH_BOUNDS = Object.freeze({
  maxLifetimeMs: { min: 1000, max: 30 * 24 * HOUR_MS },
  clockToleranceMs: { min: 0, max: 5 * 60 * 1000 },
  // 16 KiB is Node's default limit for all request headers together (http.maxHeaderSize).
  maxTokenBytes: { min: 1024, max: 16 * 1024 },
  claimValueMaxChars: 256,
  listMaxItems: 64,
});

type Json = Record<string, unknown>;

/**
 * Validates the raw `auth` section (parsed JSON, or undefined for all defaults) into a frozen
 * AuthConfig. Unknown fields, wrong types and conflicting options fail with SG_CONFIG_INVALID
 * naming the option (`auth.keys[1].alg`). Key material is only read later, by key-store.ts.
 */
export function parseAuthConfig(raw: unknown, option = 'auth'): AuthConfig {
  if (raw === undefined) return AUTH_DEFAULTS;
  const section = objectAt(raw, option, [
    'issuer', 'audience', 'maxLifetimeMs', 'clockToleranceMs', 'maxTokenBytes',
    'defaultScopes', 'allowedOrigins', 'keys', 'signingKeys',
  ]);
  const scopes = listAt(section['defaultScopes'], `${option}.defaultScopes`, AUTH_DEFAULTS.defaultScopes, (v, o) => {
    if (!isScope(v)) fail(o, `must be one of pty, exec, attach`);
    return v;
  });
  if (scopes.length === 0) fail(`${option}.defaultScopes`, 'must not be empty: a token without a scope claim could do nothing');
  return Object.freeze({
    issuer: claimValues(section['issuer'], `${option}.issuer`, AUTH_DEFAULTS.issuer),
    audience: claimValues(section['audience'], `${option}.audience`, AUTH_DEFAULTS.audience),
    maxLifetimeMs: intAt(section['maxLifetimeMs'], `${option}.maxLifetimeMs`, AUTH_DEFAULTS.maxLifetimeMs, AUTH_BOUNDS.maxLifetimeMs),
    clockToleranceMs: intAt(section['clockToleranceMs'], `${option}.clockToleranceMs`, AUTH_DEFAULTS.clockToleranceMs, AUTH_BOUNDS.clockToleranceMs),
    maxTokenBytes: intAt(section['maxTokenBytes'], `${option}.maxTokenBytes`, AUTH_DEFAULTS.maxTokenBytes, AUTH_BOUNDS.maxTokenBytes),
    defaultScopes: Object.freeze([...new Set(scopes)]),
    allowedOrigins: allowedOrigins(section['allowedOrigins'], `${option}.allowedOrigins`),
    keys: listAt(section['keys'], `${option}.keys`, AUTH_DEFAULTS.keys, verificationKey),
    signingKeys: listAt(section['signingKeys'], `${option}.signingKeys`, AUTH_DEFAULTS.signingKeys, signingKey),
  });
}

function verificationKey(raw: unknown, option: string): VerificationKeySource {
  const o = objectAt(raw, option, ['kid', 'alg', 'publicKeyPem', 'publicKeyFile', 'jwksFile', 'secret', 'secretFile']);
  const source = exactlyOne(o, option, ['publicKeyPem', 'publicKeyFile', 'jwksFile', 'secret', 'secretFile']);
  if (source.name === 'jwksFile') {
    if (o['kid'] !== undefined || o['alg'] !== undefined) {
      fail(option, 'jwksFile takes each key\'s kid and alg from the JWKS itself: remove kid and alg here');
    }
    return Object.freeze({ kind: 'jwksFile', path: source.value, option });
  }
  const kid = kidAt(o['kid'], `${option}.kid`);
  const alg = algAt(o['alg'], `${option}.alg`);
  const secretLike = source.name === 'secret' || source.name === 'secretFile';
  if (alg !== undefined && secretLike !== (alg === 'HS256')) {
    fail(`${option}.alg`, secretLike ? 'a secret can only be used with HS256' : 'a public key cannot be used with HS256');
  }
  const common = { kid, option, ...(alg === undefined ? {} : { alg }) };
  switch (source.name) {
    case 'publicKeyPem':
      return Object.freeze({ kind: 'publicKeyPem', pem: source.value, ...common });
    case 'publicKeyFile':
      return Object.freeze({ kind: 'publicKeyFile', path: source.value, ...common });
    case 'secret':
      return Object.freeze({ kind: 'secret', secret: source.value, ...common });
    case 'secretFile':
      return Object.freeze({ kind: 'secretFile', path: source.value, ...common });
  }
}

function signingKey(raw: unknown, option: string): SigningKeySource {
  const o = objectAt(raw, option, ['kid', 'alg', 'privateKeyFile', 'secret', 'secretFile']);
  const source = exactlyOne(o, option, ['privateKeyFile', 'secret', 'secretFile']);
  const kid = kidAt(o['kid'], `${option}.kid`);
  const alg = algAt(o['alg'], `${option}.alg`);
  if (alg !== undefined && (source.name !== 'privateKeyFile') !== (alg === 'HS256')) {
    fail(`${option}.alg`, source.name === 'privateKeyFile' ? 'a private key cannot be used with HS256' : 'a secret can only be used with HS256');
  }
  const common = { kid, option, ...(alg === undefined ? {} : { alg }) };
  switch (source.name) {
    case 'privateKeyFile':
      return Object.freeze({ kind: 'privateKeyFile', path: source.value, ...common });
    case 'secret':
      return Object.freeze({ kind: 'secret', secret: source.value, ...common });
    case 'secretFile':
      return Object.freeze({ kind: 'secretFile', path: source.value, ...common });
  }
}

function allowedOrigins(raw: unknown, option: string): readonly string[] {
  const list = listAt(raw, option, AUTH_DEFAULTS.allowedOrigins, (v, o) => {
    if (v === ANY_ORIGIN) return ANY_ORIGIN;
    const origin = typeof v === 'string' ? normaliseOrigin(v) : undefined;
    if (origin === undefined || origin === 'null') fail(o, 'must be an origin such as https://term.example.com (no path), or "*"');
    return origin;
  });
  if (list.includes(ANY_ORIGIN) && list.length > 1) fail(option, '"*" admits every origin: list it alone or not at all');
  return Object.freeze([...new Set(list)]);
}

function claimValues(raw: unknown, option: string, fallback: readonly string[]): readonly string[] {
  const values = typeof raw === 'string' ? [raw] : raw;
  const list = listAt(values, option, fallback, (v, o) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > AUTH_BOUNDS.claimValueMaxChars) {
      fail(o, `must be a non-empty string of at most ${AUTH_BOUNDS.claimValueMaxChars} chars`);
    }
    return v;
  });
  if (list.length === 0) fail(option, 'must name at least one value: tokens are always checked against it');
  return Object.freeze([...list]);
}

function objectAt(raw: unknown, option: string, allowed: readonly string[]): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(option, 'must be an object');
  const unknown = Object.keys(raw).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) fail(option, `has unknown field(s) ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  return Object.fromEntries(Object.entries(raw));
}

function listAt<T>(raw: unknown, option: string, fallback: readonly T[], item: (v: unknown, option: string) => T): readonly T[] {
  if (raw === undefined) return fallback;
  if (!Array.isArray(raw)) fail(option, 'must be an array');
  if (raw.length > AUTH_BOUNDS.listMaxItems) fail(option, `must have at most ${AUTH_BOUNDS.listMaxItems} entries`);
  return Object.freeze(raw.map((v: unknown, i) => item(v, `${option}[${i}]`)));
}

function intAt(raw: unknown, option: string, fallback: number, bounds: { min: number; max: number }): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < bounds.min || raw > bounds.max) {
    fail(option, `must be an integer from ${bounds.min} to ${bounds.max}`);
  }
  return raw;
}

function kidAt(raw: unknown, option: string): string {
  if (typeof raw !== 'string' || !KID_PATTERN.test(raw)) fail(option, 'is required: 1–128 printable ASCII chars, no spaces');
  return raw;
}

function algAt(raw: unknown, option: string): JwtAlgorithm | undefined {
  if (raw === undefined) return undefined;
  if (!isJwtAlgorithm(raw)) fail(option, 'must be one of RS256, ES256, EdDSA, HS256');
  return raw;
}

function exactlyOne<N extends string>(o: Json, option: string, names: readonly N[]): { name: N; value: string } {
  const present = names.filter((n) => o[n] !== undefined);
  const [name] = present;
  if (name === undefined || present.length > 1) fail(option, `needs exactly one of ${names.join(', ')}`);
  const value = o[name];
  if (typeof value !== 'string' || value.length === 0) fail(`${option}.${name}`, 'must be a non-empty string');
  return { name, value };
}

function fail(option: string, problem: string): never {
  throw new SandgateError('SG_CONFIG_INVALID', `${option} ${problem}.`, { option });
}
