import test from 'ava';
import { AuthError } from '../../../server/auth/auth-error.js';
import { parseScopes, parseTokenLimits, validateClaims } from '../../../server/auth/claims.js';
import { goodClaims, NOW_MS, NOW_S, POLICY } from './auth-fixtures.js';

function codeOf(value: unknown): string | undefined {
  return value instanceof AuthError ? value.code : undefined;
}

test('scope: absent gives the defaults (pty + exec)', (t) => {
  const defaults = parseScopes(undefined, ['pty', 'exec']);
  t.deepEqual(defaults instanceof AuthError ? defaults.code : [...defaults].sort(), ['exec', 'pty']);
  const configured = parseScopes(undefined, ['attach']);
  t.deepEqual(configured instanceof AuthError ? configured.code : [...configured], ['attach']);
});

test('scope: a space-separated string or an array of known scopes', (t) => {
  const cases: Array<[unknown, string[]]> = [
    ['pty', ['pty']],
    ['exec attach', ['attach', 'exec']],
    ['  pty   exec ', ['exec', 'pty']],
    [['attach'], ['attach']],
    [['pty', 'pty', 'exec'], ['exec', 'pty']],
  ];
  for (const [raw, expected] of cases) {
    const scopes = parseScopes(raw, ['pty']);
    if (scopes instanceof AuthError) {
      t.fail(`${JSON.stringify(raw)}: ${scopes.code}`);
      continue;
    }
    t.deepEqual([...scopes].sort(), expected, JSON.stringify(raw));
  }
});

test('scope: unknown, empty, wrongly typed or oversized scopes are refused', (t) => {
  for (const raw of ['', '   ', [], 'pty admin', ['PTY'], ['pty', 7], 42, { pty: true }, null, 'pty,exec', 'pty '.repeat(100), Array(17).fill('pty')]) {
    t.is(codeOf(parseScopes(raw, ['pty'])), 'SG_AUTH_CLAIMS', JSON.stringify(raw).slice(0, 40));
  }
});

test('limits: positive numbers of known fields; integers where counts are meant', (t) => {
  t.deepEqual(parseTokenLimits(undefined), {});
  t.deepEqual(parseTokenLimits({ memoryBytes: 1 << 28, pids: 32, cpuCores: 0.25, sessions: 2, timeLimitMs: 60_000 }), {
    memoryBytes: 1 << 28,
    pids: 32,
    cpuCores: 0.25,
    sessions: 2,
    timeLimitMs: 60_000,
  });
  for (const raw of [[], 'x', null, { pids: 0 }, { pids: 1.5 }, { cpuCores: -1 }, { memoryBytes: '1' }, { sessions: Infinity }, { timeLimitMs: 2 ** 60 }, { gpus: 1 }, JSON.parse('{"__proto__": 1}'), JSON.parse('{"constructor": 1}')]) {
    t.is(codeOf(parseTokenLimits(raw)), 'SG_AUTH_CLAIMS', JSON.stringify(raw));
  }
});

test('claims are checked in order: iss, aud, time, lifetime, identity', (t) => {
  // Both iss and exp are wrong: the issuer is reported (the token was not meant for us at all).
  t.is(codeOf(validateClaims(goodClaims({ iss: 'x', exp: NOW_S - 9999 }), POLICY, NOW_MS)), 'SG_AUTH_ISSUER');
  t.is(codeOf(validateClaims(goodClaims({ aud: 'x', exp: NOW_S - 9999 }), POLICY, NOW_MS)), 'SG_AUTH_AUDIENCE');
  t.is(codeOf(validateClaims(goodClaims({ exp: NOW_S - 9999, tenant: undefined }), POLICY, NOW_MS)), 'SG_AUTH_EXPIRED');
});

test('lifetime: a future iat cannot make a long-lived token look short', (t) => {
  // iat and exp both a year ahead, one hour apart: it would be usable for a year and an hour.
  const year = 365 * 24 * 3600;
  t.is(codeOf(validateClaims(goodClaims({ iat: NOW_S + year, exp: NOW_S + year + 3600 }), { ...POLICY, clockToleranceMs: 0 }, NOW_MS)), 'SG_AUTH_NOT_YET_VALID');
  t.is(codeOf(validateClaims(goodClaims({ iat: undefined, nbf: NOW_S + year - 60, exp: NOW_S + year }), POLICY, NOW_MS)), 'SG_AUTH_NOT_YET_VALID');
});

test('lifetime: a clock slightly ahead at the issuer is forgiven by the tolerance', (t) => {
  const maxS = POLICY.maxLifetimeMs / 1000;
  t.is(codeOf(validateClaims(goodClaims({ iat: NOW_S + 10, exp: NOW_S + 10 + maxS }), POLICY, NOW_MS)), undefined);
  t.is(codeOf(validateClaims(goodClaims({ iat: NOW_S, exp: NOW_S + maxS + 31 }), POLICY, NOW_MS)), 'SG_AUTH_LIFETIME_TOO_LONG');
});

test('NumericDates may be fractional but must be finite, non-negative numbers', (t) => {
  t.is(codeOf(validateClaims(goodClaims({ exp: NOW_S + 60.5 }), POLICY, NOW_MS)), undefined);
  t.is(codeOf(validateClaims(goodClaims({ exp: -1 }), POLICY, NOW_MS)), 'SG_AUTH_CLAIMS');
  t.is(codeOf(validateClaims(goodClaims({ iat: 'yesterday' }), POLICY, NOW_MS)), 'SG_AUTH_CLAIMS');
  t.is(codeOf(validateClaims(goodClaims({ exp: 1e300 }), POLICY, NOW_MS)), 'SG_AUTH_LIFETIME_TOO_LONG');
});

test('identifiers allow the documented charset only', (t) => {
  for (const ok of ['a', 'alice@example.com', 'team-1.prod_x', 'A'.repeat(128)]) {
    t.is(codeOf(validateClaims(goodClaims({ sub: ok, tenant: ok }), POLICY, NOW_MS)), undefined, ok);
  }
  for (const bad of ['.hidden', '_x', 'a b', 'ü', 'a\nb', 'a:b', 'a%2fb']) {
    t.is(codeOf(validateClaims(goodClaims({ tenant: bad }), POLICY, NOW_MS)), 'SG_AUTH_CLAIMS', bad);
  }
});
