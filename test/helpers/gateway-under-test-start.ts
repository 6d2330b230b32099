import type { ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGatewayConfig } from '../../server/config/gateway-config.js';
import { goodClaims, makeTestKeys, signed } from './attack-tokens.js';
import type { SessionLayerLimits } from '../../server/session/session-limits.js';
import { startGatewayHarness, TEST_CONFIG } from './gateway-harness.js';
import { httpStatus, type GatewayUnderTest } from './gateway-under-test.js';
import { startServerChild, vmRssBytes } from './server-child.js';

export interface UnderTestOptions {
  /** Session-layer limits (ring, watermarks), as the harness takes them. */
  readonly layer?: Partial<SessionLayerLimits>;
  /** TESTS ONLY: a ring too small for exact resume (the harness's lossyResumeBufferBytes). */
  readonly lossyResumeBufferBytes?: number;
}

/**
 * The colleague's in-process harness (real gateway, real session host, real sandboxes) seen
 * through GatewayUnderTest: the gateway runs in this process, so its pid is ours and its
 * sandboxes are our descendants. `raw` is laid over the harness's test config.
 */
export async function startGatewayUnderTest(t: ExecutionContext, raw: Record<string, unknown>, options: UnderTestOptions = {}): Promise<GatewayUnderTest> {
  const harness = await startGatewayHarness(t, {
    config: raw,
    ...(options.layer === undefined ? {} : { layer: options.layer }),
    ...(options.lossyResumeBufferBytes === undefined ? {} : { lossyResumeBufferBytes: options.lossyResumeBufferBytes }),
  });
  return {
    url: harness.url,
    sessionsUrl: harness.sessionsUrl,
    pid: process.pid,
    token: async (claims = {}) => harness.token({
      ...(claims.tenant === undefined ? {} : { tenant: claims.tenant }),
      ...(claims.user === undefined ? {} : { user: claims.user }),
      ...(claims.scopes === undefined ? {} : { scopes: claims.scopes }),
      ...(claims.limits === undefined ? {} : { limits: claims.limits }),
    }),
    drain: () => harness.drain(),
    counts: async (who) => {
      const counts = await harness.store.counts(who);
      return { tenant: counts.tenant, user: counts.user ?? 0 };
    },
    rss: async () => vmRssBytes(process.pid),
    readyzStatus: () => httpStatus(`${harness.url}readyz`),
  };
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO_ROOT, 'bin', 'sandgate.js');

/**
 * `sandgate serve` as a child process, for measurements of the gateway alone (its VmRSS is
 * not the test's): config `raw` over the harness's test config, with this run's own keys.
 * Tokens are signed here with the Ed25519 test key. drain() is SIGTERM (serve's drain path)
 * and waits for the exit. Lease counts are not reachable from outside: counts() throws.
 */
export async function startGatewayChild(t: ExecutionContext, raw: Record<string, unknown>): Promise<GatewayUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'sandgate-gwchild-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keys = makeTestKeys();
  const configFile = join(dir, 'sandgate.json');
  await writeFile(configFile, JSON.stringify({ ...TEST_CONFIG, ...raw, auth: { keys: keys.authKeys } }));
  const child = await startServerChild(process.execPath, [CLI, 'serve', '--config', configFile], /sessions at (ws:\/\/\S+?)\)/, { cwd: dir });
  const config = parseGatewayConfig({ ...TEST_CONFIG, ...raw, auth: { keys: keys.authKeys } });
  t.teardown(() => child.stop(config.drainTimeoutMs + 5000));
  const sessionsUrl = child.ready;
  const url = sessionsUrl.replace(/^ws:/, 'http:').replace(config.path, '/');
  return {
    url,
    sessionsUrl,
    pid: child.pid,
    token: async (claims = {}) => signed(keys.ed, goodClaims({
      tenant: claims.tenant ?? 'acme',
      sub: claims.user ?? 'alice',
      scope: (claims.scopes ?? ['pty', 'exec']).join(' '),
      ...(claims.limits === undefined ? {} : { limits: claims.limits }),
    })),
    drain: () => child.stop(config.drainTimeoutMs + 5000),
    counts: () => Promise.reject(new Error('lease counts are not reachable in a child gateway')),
    rss: async () => vmRssBytes(child.pid),
    readyzStatus: () => httpStatus(`${url}readyz`),
  };
}
