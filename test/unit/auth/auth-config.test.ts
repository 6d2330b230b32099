import test from 'ava';
import { AUTH_DEFAULTS, parseAuthConfig } from '../../../server/auth/auth-config.js';
import { isSandgateError } from '../../../server/errors/sandgate-error.js';

function refusal(raw: unknown): { code: string; option: unknown; message: string } | undefined {
  try {
    parseAuthConfig(raw);
  } catch (error) {
    if (!isSandgateError(error)) throw error;
    return { code: error.code, option: error.details['option'], message: error.message };
  }
  return undefined;
}

test('defaults: 24 h max lifetime, 30 s tolerance, 8 KiB tokens, pty + exec, no browser origins', (t) => {
  const config = parseAuthConfig(undefined);
  t.is(config, AUTH_DEFAULTS);
  t.is(config.maxLifetimeMs, 24 * 3600 * 1000);
  t.is(config.clockToleranceMs, 30_000);
  t.is(config.maxTokenBytes, 8192);
  t.deepEqual(config.defaultScopes, ['pty', 'exec']);
  t.deepEqual(config.allowedOrigins, []);
  t.deepEqual(parseAuthConfig({}), AUTH_DEFAULTS);
  t.true(Object.isFrozen(parseAuthConfig({})));
});

test('a full section is validated and normalised', (t) => {
  const config = parseAuthConfig({
    issuer: 'https://idp.example.com',
    audience: ['sandgate', 'sandgate-staging'],
    maxLifetimeMs: 3_600_000,
    clockToleranceMs: 0,
    maxTokenBytes: 4096,
    defaultScopes: ['exec'],
    allowedOrigins: ['HTTPS://Term.Example.com:443', 'http://localhost:8080'],
    keys: [
      { kid: 'rsa-1', alg: 'RS256', publicKeyFile: '/etc/sandgate/rsa-1.pem' },
      { jwksFile: '/etc/sandgate/jwks.json' },
      { kid: 'hs-1', secretFile: '/run/secrets/hs' },
    ],
    signingKeys: [{ kid: 'ed-1', privateKeyFile: '/etc/sandgate/ed-1.key' }],
  });
  t.deepEqual(config.issuer, ['https://idp.example.com']);
  t.deepEqual(config.allowedOrigins, ['https://term.example.com', 'http://localhost:8080']);
  t.deepEqual(config.keys.map((k) => k.kind), ['publicKeyFile', 'jwksFile', 'secretFile']);
  t.is(config.signingKeys[0]?.kind, 'privateKeyFile');
});

test('each invalid option fails with SG_CONFIG_INVALID naming it', (t) => {
  const cases: Array<[unknown, string]> = [
    [[], 'auth'],
    [{ issuers: ['x'] }, 'auth'],
    [{ issuer: [] }, 'auth.issuer'],
    [{ audience: [''] }, 'auth.audience[0]'],
    [{ maxLifetimeMs: 0 }, 'auth.maxLifetimeMs'],
    [{ maxLifetimeMs: 90 * 24 * 3600 * 1000 }, 'auth.maxLifetimeMs'],
    [{ clockToleranceMs: -1 }, 'auth.clockToleranceMs'],
    [{ maxTokenBytes: 1e6 }, 'auth.maxTokenBytes'],
    [{ defaultScopes: [] }, 'auth.defaultScopes'],
    [{ defaultScopes: ['root'] }, 'auth.defaultScopes[0]'],
    [{ allowedOrigins: ['https://a.example/path'] }, 'auth.allowedOrigins[0]'],
    [{ allowedOrigins: ['*', 'https://a.example'] }, 'auth.allowedOrigins'],
    [{ keys: [{ kid: 'a' }] }, 'auth.keys[0]'],
    [{ keys: [{ kid: 'a', publicKeyFile: '/k', secret: 'x'.repeat(40) }] }, 'auth.keys[0]'],
    [{ keys: [{ publicKeyFile: '/k' }] }, 'auth.keys[0].kid'],
    [{ keys: [{ kid: 'has space', publicKeyFile: '/k' }] }, 'auth.keys[0].kid'],
    [{ keys: [{ kid: 'a', alg: 'none', publicKeyFile: '/k' }] }, 'auth.keys[0].alg'],
    [{ keys: [{ kid: 'a', alg: 'HS256', publicKeyFile: '/k' }] }, 'auth.keys[0].alg'],
    [{ keys: [{ kid: 'a', alg: 'RS256', secret: 'x'.repeat(40) }] }, 'auth.keys[0].alg'],
    [{ keys: [{ kid: 'a', jwksFile: '/j' }] }, 'auth.keys[0]'],
    [{ keys: [{ kid: 'a', publicKeyFile: '/k', extra: 1 }] }, 'auth.keys[0]'],
    [{ signingKeys: [{ kid: 'a', alg: 'HS256', privateKeyFile: '/k' }] }, 'auth.signingKeys[0].alg'],
    [{ signingKeys: [{ kid: 'a', publicKeyFile: '/k' }] }, 'auth.signingKeys[0]'],
  ];
  for (const [raw, option] of cases) {
    const error = refusal(raw);
    t.is(error?.code, 'SG_CONFIG_INVALID', JSON.stringify(raw));
    t.is(error?.option, option, JSON.stringify(raw));
  }
});

test('a config error never quotes a secret value', (t) => {
  const secret = 'super-secret-value-that-must-not-leak-0123';
  const error = refusal({ keys: [{ kid: 'a', alg: 'RS256', secret }] });
  t.is(error?.code, 'SG_CONFIG_INVALID');
  t.false(error?.message.includes(secret));
});
