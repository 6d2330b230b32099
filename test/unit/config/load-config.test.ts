import test from 'ava';
import { GATEWAY_DEFAULTS, parseGatewayConfig } from '../../../server/config/gateway-config.js';
import { CONFIG_OPTIONS, fromText, gatewayConfigUsage, loadGatewayConfig, mergeDocuments, type ConfigSources } from '../../../server/config/load-config.js';
import { isSandgateError, type SandgateError } from '../../../server/errors/sandgate-error.js';

const HOME_ENV = { HOME: '/home/op' };

/** Sources with an in-memory config file, so precedence tests need no file system. */
function sources(options: { file?: unknown; env?: Record<string, string>; argv?: string[] } = {}): ConfigSources {
  const files = new Map<string, string>(options.file === undefined ? [] : [['/etc/sandgate/gateway.json', JSON.stringify(options.file)]]);
  return {
    env: { ...HOME_ENV, ...options.env },
    argv: [...(options.file === undefined ? [] : ['--config', '/etc/sandgate/gateway.json']), ...(options.argv ?? [])],
    cwd: '/srv',
    readFile: async (path) => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`no file ${path}`);
      return text;
    },
  };
}

async function refusal(t: { fail(message: string): void }, promise: Promise<unknown>): Promise<SandgateError> {
  try {
    await promise;
  } catch (error) {
    if (isSandgateError(error)) return error;
    throw error;
  }
  t.fail('expected a refusal');
  throw new Error('unreachable');
}

test('with no source set, the config is the defaults (stateDir resolved to the XDG state directory)', async (t) => {
  const config = await loadGatewayConfig(sources());
  t.deepEqual(config, { ...GATEWAY_DEFAULTS, stateDir: '/home/op/.local/state/sandgate' });
  t.is(config.host, '127.0.0.1');
  t.is(config.port, 8080);
  t.is(config.redisUrl, undefined);
  const xdg = await loadGatewayConfig({ ...sources(), env: { ...HOME_ENV, XDG_STATE_HOME: '/var/state' } });
  t.is(xdg.stateDir, '/var/state/sandgate');
});

test('precedence: defaults < config file < environment < flags, option by option', async (t) => {
  const file = { port: 1000, maxSessions: 50, maxConnections: 900 };
  const env = { SANDGATE_PORT: '2000', SANDGATE_MAX_SESSIONS: '60' };
  const all = await loadGatewayConfig(sources({ file, env, argv: ['--port', '3000'] }));
  t.like(all, { port: 3000, maxSessions: 60, maxConnections: 900, maxSessionsPerUser: GATEWAY_DEFAULTS.maxSessionsPerUser });
  t.is((await loadGatewayConfig(sources({ file, env }))).port, 2000);
  t.is((await loadGatewayConfig(sources({ file }))).port, 1000);
  t.is((await loadGatewayConfig(sources({ argv: ['--port=0'] }))).port, 0);
});

test('objects merge member by member across sources; lists are replaced', async (t) => {
  const config = await loadGatewayConfig(sources({
    file: { tenants: { acme: { maxSessionsPerUser: 2 } }, auth: { allowedOrigins: ['https://a.example.com'], issuer: 'corp' } },
    env: { SANDGATE_TENANTS: '{"beta":{"maxSessionsPerTenant":7}}', SANDGATE_AUTH_ALLOWED_ORIGINS: 'https://b.example.com, https://c.example.com' },
  }));
  t.deepEqual(Object.keys(config.tenants).sort(), ['acme', 'beta']);
  t.is(config.tenants['acme']?.maxSessionsPerUser, 2);
  t.is(config.tenants['beta']?.maxSessionsPerTenant, 7);
  t.deepEqual(config.auth.allowedOrigins, ['https://b.example.com', 'https://c.example.com']);
  t.deepEqual(config.auth.issuer, ['corp']);
});

test('environment and flag names are derived from the option paths, uniquely', (t) => {
  const byPath = new Map(CONFIG_OPTIONS.map((option) => [option.path, option]));
  t.like(byPath.get('maxSessionsPerUser'), { env: 'SANDGATE_MAX_SESSIONS_PER_USER', flag: '--max-sessions-per-user', kind: 'int' });
  t.like(byPath.get('uidRange.start'), { env: 'SANDGATE_UID_RANGE_START', flag: '--uid-range-start' });
  t.like(byPath.get('auth.allowedOrigins'), { env: 'SANDGATE_AUTH_ALLOWED_ORIGINS', flag: '--auth-allowed-origins', kind: 'strings' });
  t.like(byPath.get('limits.memoryBytes'), { env: 'SANDGATE_LIMITS_MEMORY_BYTES', flag: '--limits-memory-bytes' });
  t.like(byPath.get('redisUrl'), { env: 'SANDGATE_REDIS_URL', flag: '--redis-url' });
  t.is(new Set(CONFIG_OPTIONS.map((o) => o.env)).size, CONFIG_OPTIONS.length);
  t.is(new Set(CONFIG_OPTIONS.map((o) => o.flag)).size, CONFIG_OPTIONS.length);
});

test('text values become JSON by kind: numbers, booleans, lists, JSON', async (t) => {
  t.is(fromText('42', 'int', 'X'), 42);
  t.is(fromText('0.5', 'number', 'X'), 0.5);
  t.is(fromText('yes', 'boolean', 'X'), true);
  t.is(fromText('0', 'boolean', 'X'), false);
  t.deepEqual(fromText(' a, b ,,c ', 'strings', 'X'), ['a', 'b', 'c']);
  t.deepEqual(fromText('["a,b"]', 'strings', 'X'), ['a,b']);
  t.deepEqual(fromText('{"a":1}', 'json', 'X'), { a: 1 });
  const config = await loadGatewayConfig(sources({ env: { SANDGATE_DEV: 'true', SANDGATE_SHED_AT_PRESSURE: '0.75', SANDGATE_PING_INTERVAL_MS: '' } }));
  t.like(config, { dev: true, shedAtPressure: 0.75, pingIntervalMs: GATEWAY_DEFAULTS.pingIntervalMs });
});

test('text that is not of its kind is refused naming the variable, never quoting a JSON value', async (t) => {
  t.regex((await refusal(t, loadGatewayConfig(sources({ env: { SANDGATE_PORT: '80x' } })))).message, /^SANDGATE_PORT must be a whole number/);
  t.regex((await refusal(t, loadGatewayConfig(sources({ env: { SANDGATE_DEV: 'maybe' } })))).message, /SANDGATE_DEV must be true or false/);
  const secret = '{"kid":"k","secret":"hunter2-hunter2-hunter2-hunter2-x"';
  const error = await refusal(t, loadGatewayConfig(sources({ env: { SANDGATE_AUTH_KEYS: secret } })));
  t.is(error.code, 'SG_CONFIG_INVALID');
  t.false(error.message.includes('hunter2'));
});

test('unknown keys are refused with their path, at any depth', async (t) => {
  const cases: [unknown, string][] = [
    [{ prot: 1 }, 'prot'],
    [{ uidRange: { begin: 1 } }, 'uidRange.begin'],
    [{ limits: { memoryByte: 1 } }, 'limits.memoryByte'],
    [{ tenants: { acme: { limits: { memoryByte: 1 } } } }, 'tenants.acme.limits.memoryByte'],
    [{ tenants: { acme: { maxSession: 1 } } }, 'tenants.acme.maxSession'],
    [{ auth: { keyz: [] } }, 'auth'],
  ];
  for (const [file, path] of cases) {
    const error = await refusal(t, loadGatewayConfig(sources({ file })));
    t.is(error.code, 'SG_CONFIG_INVALID', path);
    t.true(error.message.startsWith(path), `${error.message} names ${path}`);
  }
});

test('a JSON __proto__ key is refused as an unknown key, not applied', (t) => {
  const error = t.throws(() => parseGatewayConfig(JSON.parse('{"__proto__": {"port": 1}}')));
  t.regex(error?.message ?? '', /__proto__ is not a known option/);
  t.throws(() => parseGatewayConfig(JSON.parse('{"tenants": {"__proto__": {}}}')), { message: /tenants has a key that is not a tenant name/ });
  t.is(mergeDocuments({}, JSON.parse('{"__proto__": {"polluted": true}}'))['polluted'], undefined);
  t.is(Object.getPrototypeOf(mergeDocuments({}, JSON.parse('{"__proto__": {"a": 1}}'))), Object.prototype);
});

test('unknown SANDGATE_ variables are refused; the launcher\'s and tests\' own are ignored', async (t) => {
  const error = await refusal(t, loadGatewayConfig(sources({ env: { SANDGATE_PORTT: '1' } })));
  t.is(error.code, 'SG_CONFIG_INVALID');
  t.regex(error.message, /SANDGATE_PORTT is not a sandgate serve setting/);
  await t.notThrowsAsync(loadGatewayConfig(sources({ env: { SANDGATE_LAUNCH_PLAN: 'x', SANDGATE_INSECURE_TEST: '1', SANDGATE_FUZZ_SEED: '7' } })));
});

test('unknown flags and positionals are usage errors', async (t) => {
  t.is((await refusal(t, loadGatewayConfig(sources({ argv: ['--prot', '1'] })))).code, 'SG_USAGE');
  t.is((await refusal(t, loadGatewayConfig(sources({ argv: ['extra'] })))).code, 'SG_USAGE');
});

test('a validation error names the source that set the option', async (t) => {
  t.regex((await refusal(t, loadGatewayConfig(sources({ env: { SANDGATE_PORT: '70000' } })))).message, /^port must be a whole number from 0 to 65535.*\(from SANDGATE_PORT\)\.$/);
  t.regex((await refusal(t, loadGatewayConfig(sources({ file: { port: -1 } })))).message, /\(from config file \/etc\/sandgate\/gateway\.json\)\.$/);
  t.regex((await refusal(t, loadGatewayConfig(sources({ argv: ['--max-sessions', '0'] })))).message, /\(from --max-sessions\)\.$/);
  const nested = await refusal(t, loadGatewayConfig(sources({ env: { SANDGATE_AUTH_KEYS: '[{"kid":"a"}]' } })));
  t.regex(nested.message, /^auth\.keys\[0\].*\(from SANDGATE_AUTH_KEYS\)\.$/);
});

test('REDIS_URL is read, and a different SANDGATE_REDIS_URL is a conflict; a bad URL is refused without quoting it', async (t) => {
  t.is((await loadGatewayConfig(sources({ env: { REDIS_URL: 'redis://cache:6379/0' } }))).redisUrl, 'redis://cache:6379/0');
  t.is((await loadGatewayConfig(sources({ env: { REDIS_URL: 'redis://a', SANDGATE_REDIS_URL: 'redis://a' } }))).redisUrl, 'redis://a');
  t.regex((await refusal(t, loadGatewayConfig(sources({ env: { REDIS_URL: 'redis://a', SANDGATE_REDIS_URL: 'redis://b' } })))).message, /REDIS_URL and SANDGATE_REDIS_URL/);
  const bad = await refusal(t, loadGatewayConfig(sources({ env: { REDIS_URL: 'http://user:s3cret-pw@cache' } })));
  t.regex(bad.message, /^redisUrl must start with redis:\/\/ or rediss:\/\//);
  t.false(bad.message.includes('s3cret-pw'));
});

test('a relative stateDir is resolved against the working directory', async (t) => {
  t.is((await loadGatewayConfig(sources({ argv: ['--state-dir', 'state'] }))).stateDir, '/srv/state');
});

test('a config file that is not a JSON object is refused without quoting it', async (t) => {
  const config = sources();
  const read = async (): Promise<string> => '{"auth": {"keys": [{"secret": "hunter2hunter2"';
  const error = await refusal(t, loadGatewayConfig({ ...config, argv: ['--config', 'x.json'], readFile: read }));
  t.regex(error.message, /--config names \/srv\/x\.json, which is not valid JSON\./);
  t.false(error.message.includes('hunter2'));
  t.regex((await refusal(t, loadGatewayConfig({ ...config, argv: ['--config', 'x.json'], readFile: async () => '[1]' }))).message, /does not hold a JSON object/);
  const viaEnv = await refusal(t, loadGatewayConfig({ ...config, env: { ...HOME_ENV, SANDGATE_CONFIG: '/nope.json' }, readFile: async () => 'nope' }));
  t.regex(viaEnv.message, /\/nope\.json/);
});

test('the --help text lists every flag with its variable', (t) => {
  const usage = gatewayConfigUsage();
  for (const option of CONFIG_OPTIONS) {
    t.true(usage.includes(option.flag), option.flag);
    t.true(usage.includes(option.env), option.env);
  }
  t.true(usage.includes('--config FILE'));
});
