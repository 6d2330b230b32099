import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { DEFAULT_SESSION_LIMITS, PROTOCOL_LIMITS } from '../../client-sdk/src/protocol/limits.js';
import { AUTH_DEFAULTS, parseAuthConfig, type AuthConfig } from '../auth/auth-config.js';
import { IDENTIFIER_PATTERN } from '../auth/claims.js';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import { DEFAULT_LIMITS, type SandboxLimits } from '../sandbox/sandbox-spec.js';
import { SANDBOX_RUNNER_DEFAULTS } from '../sandbox/sandbox-runner.js';
import { parseLimits } from '../sandbox/spec-limits.js';
import { configConflicts } from './config-conflicts.js';
import {
  booleanField, deepFreeze, fail, intField, numberField, objectAt, optionalStringField, optionPath, parseSection,
  sectionField, stringField, type Json, type SectionSchema, type TextSection,
} from './config-fields.js';

/**
 * The configuration of `sandgate serve`: ONE schema (GATEWAY_SCHEMA) and ONE defaults object
 * (GATEWAY_DEFAULTS), validated once by `parseGatewayConfig` into a deeply frozen value that is
 * passed down. Where values come from (file, env, flags) is load-config.ts; every option, with
 * its unit, default, environment variable and flag, is in docs/operations.md.
 */

/** What a tenant is allowed; `tenants` entries override the top-level values per tenant. */
export interface TenantPolicy {
  /** Sandbox limits of each of the tenant's sessions; a token's `limits` can only lower them. */
  readonly limits: SandboxLimits;
  /** Concurrent sessions of the tenant, cluster-wide. */
  readonly maxSessionsPerTenant: number;
  /** Concurrent sessions of one user of the tenant, cluster-wide (a token's `limits.sessions` lowers it). */
  readonly maxSessionsPerUser: number;
}

export interface UidRange {
  /** First host uid leased to a sandbox user. */
  readonly start: number;
  /** Host uids in the range: at most this many sandboxes run at once. */
  readonly count: number;
}

export interface GatewayConfig {
  /** Address to listen on. Default 127.0.0.1 (loopback only). */
  readonly host: string;
  /** TCP port; 0 = an ephemeral port (the bound port is printed). Default 8080. */
  readonly port: number;
  /** Path of the WebSocket endpoint. Default /v1/sessions. */
  readonly path: string;
  /** Development mode: loopback only, dev keys in stateDir, a ready URL and token printed. Default false. */
  readonly dev: boolean;
  /** Directory for state the gateway keeps (dev keys), absolute; '' = $XDG_STATE_HOME/sandgate. */
  readonly stateDir: string;
  /** Redis for cluster-wide quotas, redis:// or rediss://; absent = one node, in-process store. */
  readonly redisUrl: string | undefined;
  /** A connection must have completed its upgrade (or request) this long after it opened, ms. Default 10 s. */
  readonly handshakeTimeoutMs: number;
  /** The first frame (open or resume) must arrive this long after the upgrade, ms. Default 10 s. */
  readonly openTimeoutMs: number;
  /** Largest text (control) frame, bytes. Default 64 KiB. */
  readonly maxControlFrameBytes: number;
  /** Largest binary (data) frame, header included, bytes. Default 64 KiB. ws maxPayload is the larger of the two. */
  readonly maxDataFrameBytes: number;
  /** Output bytes sent beyond the client's last ack before the PTY is paused. Default 1 MiB. */
  readonly outputWindowBytes: number;
  /** Stdin bytes a client may send beyond the last stdin-ack. Default 256 KiB. */
  readonly stdinWindowBytes: number;
  /** Stdin rate accepted per session, bytes/s; 0 = unlimited. Default 0. */
  readonly stdinBytesPerSecond: number;
  /** WebSocket ping period, ms; 0 = no pings. Default 30 s. */
  readonly pingIntervalMs: number;
  /** A connection that has not answered a ping within this long is terminated, ms. Default 10 s. */
  readonly pongTimeoutMs: number;
  /** A session ends after this long without input or output, ms; 0 = never. Default 30 min. */
  readonly idleTimeoutMs: number;
  /** No session lives longer than this, ms (a tenant's limits.timeLimitMs may be shorter). Default 24 h. */
  readonly maxSessionLifetimeMs: number;
  /** A dropped session waits this long for a resume, ms; 0 = no resume. Default 60 s. */
  readonly resumeGraceMs: number;
  /** On shutdown, sessions get this long to finish before they are closed, ms. Default 30 s. */
  readonly drainTimeoutMs: number;
  /** Open WebSocket connections of this node. Default 1000. */
  readonly maxConnections: number;
  /** Upgrade requests being authenticated and admitted at once. Default 64. */
  readonly maxHandshakesInFlight: number;
  /** Sessions (sandboxes) on this node. Default 128. */
  readonly maxSessions: number;
  /** Sandboxes being started at once on this node. Default 8. */
  readonly maxSpawnsInFlight: number;
  /** Host pressure (0–1, from the monitor) at which new sessions are refused. Default 0.9. */
  readonly shedAtPressure: number;
  /** Concurrent sessions per tenant, cluster-wide, unless `tenants` says otherwise. Default 100. */
  readonly maxSessionsPerTenant: number;
  /** Concurrent sessions per user, cluster-wide, unless `tenants` says otherwise. Default 5. */
  readonly maxSessionsPerUser: number;
  /** Retry-After of 429 and 503 refusals, seconds (jittered up to twice that). Default 5. */
  readonly retryAfterSec: number;
  /** A session lease expires this long after its last renewal (a crashed node's sessions free up), ms. Default 30 s. */
  readonly leaseTtlMs: number;
  /** Sandbox limits of every session unless `tenants` says otherwise. Default DEFAULT_LIMITS. */
  readonly limits: SandboxLimits;
  /** Per-tenant policy, by tenant name; a missing tenant gets the top-level values. Default {}. */
  readonly tenants: Readonly<Record<string, TenantPolicy>>;
  /** Host uids leased to sandbox users. Default 600000 + 65536. */
  readonly uidRange: UidRange;
  /** Token verification and browser origins (docs/auth.md). */
  readonly auth: AuthConfig;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Tenants listed in one configuration. */
const MAX_TENANTS = 10_000;
const MAX_UID = 0xffff_fffe; // (uid_t)-1 is "no uid" (setresuid(2))

export const GATEWAY_DEFAULTS: GatewayConfig = deepFreeze({
  host: '127.0.0.1',
  port: 8080,
  path: '/v1/sessions',
  dev: false,
  stateDir: '',
  redisUrl: undefined,
  handshakeTimeoutMs: 10 * SECOND_MS,
  openTimeoutMs: 10 * SECOND_MS,
  maxControlFrameBytes: DEFAULT_SESSION_LIMITS.maxControlFrameBytes,
  maxDataFrameBytes: DEFAULT_SESSION_LIMITS.maxDataFrameBytes,
  outputWindowBytes: DEFAULT_SESSION_LIMITS.outputWindowBytes,
  stdinWindowBytes: DEFAULT_SESSION_LIMITS.stdinWindowBytes,
  stdinBytesPerSecond: DEFAULT_SESSION_LIMITS.stdinBytesPerSecond,
  pingIntervalMs: 30 * SECOND_MS,
  pongTimeoutMs: 10 * SECOND_MS,
  idleTimeoutMs: DEFAULT_SESSION_LIMITS.idleTimeoutMs,
  maxSessionLifetimeMs: DAY_MS,
  resumeGraceMs: DEFAULT_SESSION_LIMITS.resumeGraceMs,
  drainTimeoutMs: 30 * SECOND_MS,
  maxConnections: 1000,
  maxHandshakesInFlight: 64,
  maxSessions: 128,
  maxSpawnsInFlight: 8,
  shedAtPressure: 0.9,
  maxSessionsPerTenant: 100,
  maxSessionsPerUser: 5,
  retryAfterSec: 5,
  leaseTtlMs: 30 * SECOND_MS,
  limits: DEFAULT_LIMITS,
  tenants: {},
  uidRange: { start: SANDBOX_RUNNER_DEFAULTS.uidRangeStart, count: SANDBOX_RUNNER_DEFAULTS.uidRangeCount },
  auth: AUTH_DEFAULTS,
});

/** Routes the HTTP server answers itself; the WebSocket path must be none of them. */
export const RESERVED_HTTP_PATHS: readonly string[] = Object.freeze(['/', '/healthz', '/readyz', '/metrics']);

const LIMIT_TEXT: TextSection = Object.freeze(Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((name) => [name, 'number' as const])));

const TENANT_SCHEMA: SectionSchema<TenantPolicy> = {
  limits: { text: LIMIT_TEXT, unit: '', doc: 'sandbox limits', parse: (raw, option, _fallback, root) => configLimits(raw, option, root['limits']) },
  maxSessionsPerTenant: intField('concurrent sessions of the tenant', 'sessions', 1, 1_000_000),
  maxSessionsPerUser: intField('concurrent sessions of one user', 'sessions', 1, 1_000_000),
};

const UID_RANGE_SCHEMA: SectionSchema<UidRange> = {
  start: intField('first host uid leased to a sandbox user', 'uid', 1, MAX_UID),
  count: intField('host uids in the range', 'uids', 1, MAX_UID),
};

/** Text shape of the auth section: validation itself is parseAuthConfig's (server/auth). */
const AUTH_TEXT: { readonly [K in keyof AuthConfig]-?: 'int' | 'strings' | 'json' } = Object.freeze({
  issuer: 'strings',
  audience: 'strings',
  maxLifetimeMs: 'int',
  clockToleranceMs: 'int',
  maxTokenBytes: 'int',
  defaultScopes: 'strings',
  allowedOrigins: 'strings',
  keys: 'json',
  signingKeys: 'json',
});

export const GATEWAY_SCHEMA: SectionSchema<GatewayConfig> = {
  host: stringField('address to listen on (an IP address or a host name)', 'address', (v) =>
    isIP(v) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(v)
      ? undefined
      : 'must be an IP address or a host name'),
  port: intField('TCP port; 0 = an ephemeral port, printed at start', 'port', 0, 65535),
  path: stringField('path of the WebSocket endpoint', 'URL path', (v) =>
    !/^\/[A-Za-z0-9._~/-]{0,255}$/.test(v) ? 'must be an absolute URL path of [A-Za-z0-9._~/-]'
    : RESERVED_HTTP_PATHS.includes(v) ? `must not be one of the HTTP routes ${RESERVED_HTTP_PATHS.join(', ')}`
    : undefined),
  dev: booleanField('development mode: loopback only, dev keys in stateDir, prints a URL and a token'),
  stateDir: stringField('directory for state the gateway keeps (dev keys); \'\' = $XDG_STATE_HOME/sandgate', 'absolute path', (v) =>
    v === '' || isAbsolute(v) ? undefined : 'must be an absolute path'),
  redisUrl: optionalStringField('Redis for cluster-wide quotas; absent = one node, in-process store', 'redis:// or rediss:// URL', redisUrlProblem),
  handshakeTimeoutMs: intField('a connection must complete its upgrade (or HTTP request) this long after it opened', 'ms', 50, 5 * MINUTE_MS),
  openTimeoutMs: intField('the first frame (open or resume) must arrive this long after the upgrade', 'ms', 50, 5 * MINUTE_MS),
  maxControlFrameBytes: intField('largest text (control) frame', 'bytes', PROTOCOL_LIMITS.minFrameOrWindowBytes, PROTOCOL_LIMITS.maxControlFrameBytes),
  maxDataFrameBytes: intField('largest binary (data) frame, header included', 'bytes', PROTOCOL_LIMITS.minFrameOrWindowBytes, PROTOCOL_LIMITS.maxDataFrameBytes),
  outputWindowBytes: intField('output sent beyond the client\'s last ack before the PTY is paused', 'bytes', PROTOCOL_LIMITS.minFrameOrWindowBytes, PROTOCOL_LIMITS.maxWindowBytes),
  stdinWindowBytes: intField('stdin a client may send beyond the last stdin-ack', 'bytes', PROTOCOL_LIMITS.minFrameOrWindowBytes, PROTOCOL_LIMITS.maxWindowBytes),
  stdinBytesPerSecond: intField('stdin rate accepted per session; 0 = unlimited', 'bytes/s', 0, PROTOCOL_LIMITS.maxStdinBytesPerSecond),
  pingIntervalMs: intField('WebSocket ping period; 0 = no pings', 'ms', 0, HOUR_MS),
  pongTimeoutMs: intField('a connection that does not answer a ping this long is terminated', 'ms', 100, HOUR_MS),
  idleTimeoutMs: intField('a session ends after this long without input or output; 0 = never', 'ms', 0, PROTOCOL_LIMITS.maxDurationMs),
  maxSessionLifetimeMs: intField('no session lives longer than this', 'ms', SECOND_MS, 7 * DAY_MS),
  resumeGraceMs: intField('a dropped session waits this long for a resume; 0 = no resume', 'ms', 0, PROTOCOL_LIMITS.maxDurationMs),
  drainTimeoutMs: intField('on shutdown, sessions get this long to finish before they are closed', 'ms', 0, HOUR_MS),
  maxConnections: intField('open WebSocket connections of this node', 'connections', 1, 1_000_000),
  maxHandshakesInFlight: intField('upgrade requests being authenticated and admitted at once', 'handshakes', 1, 100_000),
  maxSessions: intField('sessions (sandboxes) on this node', 'sessions', 1, 1_000_000),
  maxSpawnsInFlight: intField('sandboxes being started at once on this node', 'spawns', 1, 10_000),
  shedAtPressure: numberField('host pressure (from the monitor) at which new sessions are refused', 'fraction', 0, 1),
  maxSessionsPerTenant: intField('concurrent sessions per tenant, cluster-wide, unless tenants says otherwise', 'sessions', 1, 1_000_000),
  maxSessionsPerUser: intField('concurrent sessions per user, cluster-wide, unless tenants says otherwise', 'sessions', 1, 1_000_000),
  retryAfterSec: intField('Retry-After of 429 and 503 refusals (jittered up to twice that)', 's', 1, 3600),
  leaseTtlMs: intField('a session lease expires this long after its last renewal', 'ms', SECOND_MS, 10 * MINUTE_MS),
  limits: { text: LIMIT_TEXT, unit: 'docs/sandbox.md', doc: 'sandbox limits of every session unless tenants says otherwise', parse: (raw, option) => configLimits(raw, option, undefined) },
  tenants: { text: 'json', unit: '{tenant: policy}', doc: 'per-tenant limits, maxSessionsPerTenant, maxSessionsPerUser', parse: parseTenants },
  uidRange: sectionField('host uids leased to sandbox users', UID_RANGE_SCHEMA),
  auth: { text: AUTH_TEXT, unit: 'docs/auth.md', doc: 'token verification and browser origins', parse: (raw, option) => parseAuthConfig(raw, option) },
};

/**
 * Validates a raw configuration document (already merged from its sources) into the frozen
 * GatewayConfig: every option within its bounds, no unknown key at any depth, and no two
 * options in conflict (config-conflicts.ts). Throws SG_CONFIG_INVALID naming the option.
 */
export function parseGatewayConfig(raw: unknown): GatewayConfig {
  const root = objectAt(raw ?? {}, '', Object.keys(GATEWAY_SCHEMA));
  const config = deepFreeze(parseSection(GATEWAY_SCHEMA, root, '', GATEWAY_DEFAULTS, root));
  const [conflict] = configConflicts(config);
  if (conflict !== undefined) throw new SandgateError('SG_CONFIG_INVALID', conflict.sentence, { option: conflict.options.join(', ') });
  return config;
}

/**
 * Sandbox limits through the sandbox's own validation (spec-limits.ts), its SG_SPEC_INVALID
 * turned into a config error naming the option. A tenant's raw limits are laid over the raw
 * top-level ones, so that the tmpfs sizes derived from memoryBytes follow the tenant's memory.
 */
function configLimits(raw: unknown, option: string, base: unknown): SandboxLimits {
  const merged = base === undefined ? raw : { ...objectAt(base, 'limits', Object.keys(DEFAULT_LIMITS)), ...objectAt(raw ?? {}, option, Object.keys(DEFAULT_LIMITS)) };
  try {
    return parseLimits(merged);
  } catch (error) {
    if (!isSandgateError(error, 'SG_SPEC_INVALID')) throw error;
    const message = error.message.replace(/^limits/, option);
    const field = typeof error.details['field'] === 'string' ? error.details['field'].replace(/^limits/, option) : option;
    throw new SandgateError('SG_CONFIG_INVALID', `${message}.`, { option: field });
  }
}

function parseTenants(raw: unknown, option: string, fallback: Readonly<Record<string, TenantPolicy>>, root: Json): Readonly<Record<string, TenantPolicy>> {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(option, 'must be an object of tenant name to policy');
  const entries = Object.entries(raw);
  if (entries.length > MAX_TENANTS) fail(option, `must list at most ${MAX_TENANTS} tenants`);
  // What a tenant entry leaves out. `limits` is never taken from here: TENANT_SCHEMA.limits
  // always lays the tenant's raw limits over the raw top-level ones (configLimits).
  const inherited: TenantPolicy = {
    limits: DEFAULT_LIMITS,
    maxSessionsPerTenant: GATEWAY_SCHEMA.maxSessionsPerTenant.parse(root['maxSessionsPerTenant'], 'maxSessionsPerTenant', GATEWAY_DEFAULTS.maxSessionsPerTenant, root),
    maxSessionsPerUser: GATEWAY_SCHEMA.maxSessionsPerUser.parse(root['maxSessionsPerUser'], 'maxSessionsPerUser', GATEWAY_DEFAULTS.maxSessionsPerUser, root),
  };
  return Object.fromEntries(
    entries.map(([tenant, policy]) => {
      // Tenant names are token claims: the same charset (claims.ts), so no `__proto__` either.
      if (!IDENTIFIER_PATTERN.test(tenant)) fail(option, `has a key that is not a tenant name (1–128 of [A-Za-z0-9._@-], starting with a letter or digit)`);
      const at = optionPath(option, tenant);
      return [tenant, parseSection(TENANT_SCHEMA, policy, at, inherited, root)];
    }),
  );
}

function redisUrlProblem(value: string): string | undefined {
  // Never quote the URL: it may carry a password.
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL (expected redis://[user:password@]host[:port][/db])';
  }
  return url.protocol === 'redis:' || url.protocol === 'rediss:' ? undefined : 'must start with redis:// or rediss://';
}
