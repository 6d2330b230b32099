import test from 'ava';
import { DEFAULT_SESSION_LIMITS } from '../../../client-sdk/src/protocol/limits.js';
import { configConflicts, isLoopbackHost } from '../../../server/config/config-conflicts.js';
import { GATEWAY_DEFAULTS, GATEWAY_SCHEMA, parseGatewayConfig } from '../../../server/config/gateway-config.js';
import { DEFAULT_LIMITS } from '../../../server/sandbox/sandbox-spec.js';

test('an empty document validates to the defaults, which have no conflict', (t) => {
  t.deepEqual(parseGatewayConfig({}), GATEWAY_DEFAULTS);
  t.deepEqual(parseGatewayConfig(undefined), GATEWAY_DEFAULTS);
  t.deepEqual(configConflicts(GATEWAY_DEFAULTS), []);
});

test('the defaults are the documented safe ones', (t) => {
  t.like(GATEWAY_DEFAULTS, {
    host: '127.0.0.1', port: 8080, path: '/v1/sessions', dev: false, handshakeTimeoutMs: 10_000,
    maxControlFrameBytes: DEFAULT_SESSION_LIMITS.maxControlFrameBytes, maxDataFrameBytes: DEFAULT_SESSION_LIMITS.maxDataFrameBytes,
    maxConnections: 1000, maxHandshakesInFlight: 64, maxSessionsPerTenant: 100, maxSessionsPerUser: 5,
  });
  t.deepEqual(GATEWAY_DEFAULTS.limits, DEFAULT_LIMITS);
  t.deepEqual(GATEWAY_DEFAULTS.auth.allowedOrigins, [], 'no browser origin until one is listed');
});

test('every top-level option has a schema entry (and nothing else does)', (t) => {
  t.deepEqual(Object.keys(GATEWAY_SCHEMA).sort(), Object.keys(GATEWAY_DEFAULTS).sort());
});

test('the config is frozen all the way down', (t) => {
  const config = parseGatewayConfig({ tenants: { acme: { maxSessionsPerUser: 2 } }, auth: { allowedOrigins: ['https://a.example.com'] } });
  const nested = [config, config.limits, config.tenants, config.tenants['acme'], config.tenants['acme']?.limits, config.uidRange, config.auth, config.auth.allowedOrigins];
  for (const value of nested) t.true(Object.isFrozen(value));
  t.throws(() => Object.assign(config, { port: 1 }), { instanceOf: TypeError });
  t.throws(() => Object.assign(config.limits, { pids: 1 }), { instanceOf: TypeError });
});

test('a tenant inherits the top-level values and overrides only what it names', (t) => {
  const config = parseGatewayConfig({
    maxSessionsPerTenant: 50,
    maxSessionsPerUser: 4,
    limits: { memoryBytes: 512 * 1024 * 1024, pids: 64 },
    tenants: { acme: { limits: { memoryBytes: 1024 * 1024 * 1024 }, maxSessionsPerTenant: 500 }, lite: { limits: { memoryBytes: 32 * 1024 * 1024 } } },
  });
  t.like(config.tenants['acme'], { maxSessionsPerTenant: 500, maxSessionsPerUser: 4, limits: { memoryBytes: 1024 * 1024 * 1024, pids: 64 } });
  // The tmpfs sizes are derived from the tenant's own memory, so a small tenant is valid as is.
  const lite = config.tenants['lite']?.limits;
  t.truthy(lite);
  if (lite !== undefined) t.true(lite.tmpBytes + lite.homeBytes + lite.shmBytes < lite.memoryBytes);
});

test('bounds are checked with the unit in the sentence', (t) => {
  t.throws(() => parseGatewayConfig({ handshakeTimeoutMs: 10 }), { message: /^handshakeTimeoutMs must be a whole number from 50 to 300000 \(ms\)\.$/ });
  t.throws(() => parseGatewayConfig({ shedAtPressure: 2 }), { message: /shedAtPressure must be a number from 0 to 1/ });
  t.throws(() => parseGatewayConfig({ port: '8080' }), { message: /port must be a whole number/ });
  t.throws(() => parseGatewayConfig({ path: '/healthz' }), { message: /path must not be one of the HTTP routes/ });
  t.throws(() => parseGatewayConfig({ path: 'v1' }), { message: /path must be an absolute URL path/ });
  t.throws(() => parseGatewayConfig({ host: 'bad host' }), { message: /host must be an IP address or a host name/ });
  t.throws(() => parseGatewayConfig({ stateDir: 'relative' }), { message: /stateDir must be an absolute path/ });
  t.throws(() => parseGatewayConfig({ limits: { memoryBytes: 1 } }), { message: /^limits\.memoryBytes must be between/ });
});

const CONFLICTS: [string, Record<string, unknown>, RegExp][] = [
  ['dev mode on a non-loopback host', { dev: true, host: '0.0.0.0' }, /dev mode .* only listens on loopback: host 0\.0\.0\.0/],
  ['"*" origins outside dev mode', { auth: { allowedOrigins: ['*'] } }, /auth\.allowedOrigins "\*" .* only with --dev/],
  ['a pong timeout not shorter than the ping interval', { pingIntervalMs: 1000, pongTimeoutMs: 1000 }, /pongTimeoutMs \(1000\) must be shorter than pingIntervalMs \(1000\)/],
  ['more handshakes than connections', { maxConnections: 10, maxHandshakesInFlight: 11 }, /maxHandshakesInFlight \(11\) is above maxConnections \(10\)/],
  ['a data frame larger than a window', { maxDataFrameBytes: 512 * 1024, stdinWindowBytes: 256 * 1024 }, /maxDataFrameBytes \(524288\) is above stdinWindowBytes/],
  ['more sessions than uids', { maxSessions: 100, uidRange: { start: 700000, count: 99 } }, /maxSessions \(100\) is above uidRange\.count \(99\)/],
  ['a user limit above the tenant limit', { maxSessionsPerUser: 10, maxSessionsPerTenant: 5 }, /^maxSessionsPerUser \(10\) is above maxSessionsPerTenant \(5\)/],
  ['the same in a tenant', { tenants: { acme: { maxSessionsPerUser: 500 } } }, /tenants\.acme\.maxSessionsPerUser \(500\) is above tenants\.acme\.maxSessionsPerTenant \(100\)/],
  ['a time limit beyond the session lifetime', { maxSessionLifetimeMs: 60_000, limits: { timeLimitMs: 120_000 } }, /limits\.timeLimitMs \(120000\) is above maxSessionLifetimeMs \(60000\)/],
];

for (const [what, raw, sentence] of CONFLICTS) {
  test(`conflict refused with a sentence: ${what}`, (t) => {
    const error = t.throws(() => parseGatewayConfig(raw));
    t.is(Reflect.get(error ?? {}, 'code'), 'SG_CONFIG_INVALID');
    t.regex(error?.message ?? '', sentence);
  });
}

test('what is allowed in dev mode: loopback hosts and "*" origins', (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
    t.true(isLoopbackHost(host), host);
    t.notThrows(() => parseGatewayConfig({ dev: true, host, auth: { allowedOrigins: ['*'] } }));
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) t.false(isLoopbackHost(host), host);
});

test('configConflicts lists every conflict, not only the first', (t) => {
  const config = { ...GATEWAY_DEFAULTS, dev: true, host: '0.0.0.0', maxConnections: 1, maxHandshakesInFlight: 2 };
  t.deepEqual(configConflicts(config).map((c) => c.options), [['dev', 'host'], ['maxHandshakesInFlight', 'maxConnections']]);
});
