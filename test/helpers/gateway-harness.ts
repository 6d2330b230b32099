/**
 * An in-process sandgate gateway for integration tests: the real http step (startGateway), the
 * real session host (SessionHost → real sandboxes through SandboxRunner), an embedded quota
 * store, on 127.0.0.1 and an ephemeral port, with an Ed25519 dev key in a temporary directory.
 * Everything is torn down after the test (t.teardown): sessions and their sandboxes, the
 * server, the store, the directory.
 *
 *   const gw = await startGatewayHarness(t, { config: { resumeGraceMs: 5000 } });
 *   const client = await gw.connect();                       // a TestClient, upgraded, no frame sent
 *   const hello = await client.open({ kind: 'pty', cols: 80, rows: 24 });
 *   client.write('echo hi\r');
 *   await client.waitForOutput(/[\r\n]hi/);
 *   client.write('exit\r');
 *   const exit = await client.waitForExit();                 // then client.waitForClose() → 1000
 *
 * Harness (GatewayHarness):
 * - `config` (GatewayConfig, validated): the test's `config` overrides laid over TEST_CONFIG;
 *   `gateway`, `host` (SessionHost), `store` (the quota store), `url`, `sessionsUrl`;
 * - `token(claims?)`: a signed token (tenant `acme`, user `alice`, scopes pty+exec by default);
 * - `connect(options?)`: a TestClient on an admitted WebSocket (rejects with the HTTP status
 *   of a refused upgrade); `tryConnect` resolves with the refusal instead;
 * - `drain()`: the SIGTERM path of `sandgate serve` (gateway.drain, then host.close);
 *   `host.idle()` resolves once every session is gone and every lease given back;
 * - `logs` (records) and `logLines` (the JSON lines as written: check that no token leaks).
 *
 * Client (TestClient, one WebSocket): frames are encoded and decoded with the protocol codec,
 * and every server frame goes through the conversation reducer, so a protocol break by the
 * gateway (a gap in output offsets, output past the window, exit before the last byte…) is
 * recorded in `violations` (assert it stays empty). Output is kept per channel from the
 * hello's offset on (`output()`, `text()`), and acknowledged automatically once per event-loop
 * turn (`ack: 'auto'`, the default) or only by `ack(offset)` (`ack: 'manual'`). `write` sends
 * stdin within the stdin window and queues the rest until stdin-acks. Waits take a timeout
 * (default WAIT_MS) and fail with what was received; none of them sleeps.
 *
 * Options: `config` (raw gateway config over TEST_CONFIG), `layer` (session-layer limits:
 * ring, watermarks, control-frame rate), `lossyResumeBufferBytes` (tests only: a ring too small
 * for exact resume, to provoke resume-truncated), `echoLog` (print the gateway's log lines).
 */
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

import { generateDevKeys } from '../../server/auth/dev-keys.js';
import type { TokenLimits } from '../../server/auth/effective-limits.js';
import type { Scope } from '../../server/auth/principal.js';
import { loadSigningKey, signToken } from '../../server/auth/token-signer.js';
import { parseGatewayConfig, type GatewayConfig } from '../../server/config/gateway-config.js';
import { startGateway, type Gateway } from '../../server/http/gateway.js';
import { createRequestLog, type LogRecord } from '../../server/http/request-log.js';
import { EmbeddedQuotaStore } from '../../server/quota/embedded-quota-store.js';
import { SandboxRunner } from '../../server/sandbox/sandbox-runner.js';
import { SessionHost } from '../../server/session/session-host.js';
import type { SessionLayerLimits } from '../../server/session/session-limits.js';
import { TestClient, type TestClientOptions } from './gateway-test-client.js';

export { TestClient, WAIT_MS, type CloseEvent, type OpenFields, type TestClientOptions } from './gateway-test-client.js';

/** Config every harness starts from (then the test's overrides): quiet, fast to fail. */
export const TEST_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  port: 0,
  pingIntervalMs: 0,
  handshakeTimeoutMs: 5000,
  openTimeoutMs: 5000,
  drainTimeoutMs: 2000,
});

export interface HarnessOptions {
  /** Raw gateway config laid over TEST_CONFIG (validated by parseGatewayConfig); `auth.keys` gets the dev key. */
  readonly config?: Record<string, unknown>;
  /** Session-layer limits (ring, watermarks, control-frame rate). */
  readonly layer?: Partial<SessionLayerLimits>;
  /** TESTS ONLY: a ring too small for exact resume, to provoke `resume-truncated` (session-settings.ts). */
  readonly lossyResumeBufferBytes?: number;
  /** Also write the gateway's log lines to stderr (debugging). */
  readonly echoLog?: boolean;
}

export interface TokenClaims {
  readonly tenant?: string;
  readonly user?: string;
  readonly scopes?: readonly Scope[];
  readonly limits?: TokenLimits;
  /** Default 10 minutes. */
  readonly ttlMs?: number;
}

export interface ConnectOptions extends TestClientOptions {
  /** Default: a fresh `token()`. Sent as `Authorization: Bearer`. */
  readonly token?: string;
  /** Offered subprotocols; default ['sandgate.v1']. */
  readonly protocols?: readonly string[];
  /** Extra request headers (Origin, a second Authorization…). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type ConnectResult = { readonly ok: true; readonly client: TestClient } | { readonly ok: false; readonly status: number; readonly body: string };

export interface GatewayHarness {
  readonly config: GatewayConfig;
  readonly gateway: Gateway;
  readonly host: SessionHost;
  readonly store: EmbeddedQuotaStore;
  readonly url: string;
  readonly sessionsUrl: string;
  readonly logs: readonly LogRecord[];
  readonly logLines: readonly string[];
  token(claims?: TokenClaims): string;
  connect(options?: ConnectOptions): Promise<TestClient>;
  tryConnect(options?: ConnectOptions): Promise<ConnectResult>;
  /** Graceful shutdown as `sandgate serve` does on SIGTERM: drain, then dispose every session. */
  drain(): Promise<void>;
}

export async function startGatewayHarness(t: ExecutionContext, options: HarnessOptions = {}): Promise<GatewayHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'sandgate-gw-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keys = await generateDevKeys(join(dir, 'keys'));
  const raw = { ...TEST_CONFIG, ...options.config };
  const rawAuth = typeof raw['auth'] === 'object' && raw['auth'] !== null ? raw['auth'] : {};
  const config = parseGatewayConfig({ ...raw, auth: { keys: [{ kid: keys.kid, publicKeyFile: keys.publicKeyFile }], ...rawAuth } });
  const signingKey = await loadSigningKey(keys.signingKey);

  const logs: LogRecord[] = [];
  const logLines: string[] = [];
  const write = createRequestLog((line) => {
    logLines.push(line);
    if (options.echoLog === true) process.stderr.write(line);
  });
  const log = (record: LogRecord): void => {
    logs.push(record);
    write(record);
  };
  const runner = await SandboxRunner.open({ uidRange: config.uidRange });
  const store = new EmbeddedQuotaStore({ leaseTtlMs: config.leaseTtlMs });
  t.teardown(() => store.close());
  const host = new SessionHost({ config, runner, quotaStore: store, log, layer: options.layer, lossyResumeBufferBytes: options.lossyResumeBufferBytes });
  // Teardowns run last-registered first: the gateway closes, then every session is disposed.
  t.teardown(() => host.close());
  const gateway = await startGateway(config, {
    onSession: host.onSession,
    quotaStore: store,
    log,
    hostLoad: () => host.load(),
    readiness: () => host.readiness(),
    onDrain: (drain) => host.drain(drain),
  });
  t.teardown(() => gateway.close());

  const token = (claims: TokenClaims = {}): string =>
    signToken(
      signingKey,
      { tenant: claims.tenant ?? 'acme', user: claims.user ?? 'alice', ttlMs: claims.ttlMs ?? 600_000, scopes: [...(claims.scopes ?? ['pty', 'exec'])], ...(claims.limits === undefined ? {} : { limits: claims.limits }) },
      config.auth,
    ).token;

  const tryConnect = (connectOptions: ConnectOptions = {}): Promise<ConnectResult> => {
    const ws = new WebSocket(gateway.sessionsUrl, [...(connectOptions.protocols ?? ['sandgate.v1'])], {
      headers: { Authorization: `Bearer ${connectOptions.token ?? token()}`, ...connectOptions.headers },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        const client = new TestClient(ws, connectOptions);
        t.teardown(() => client.terminate());
        resolve({ ok: true, client });
      });
      ws.once('unexpected-response', (req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          req.destroy();
          resolve({ ok: false, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      ws.once('error', reject);
    });
  };

  let draining: Promise<void> | undefined;
  return {
    config,
    gateway,
    host,
    store,
    url: gateway.url,
    sessionsUrl: gateway.sessionsUrl,
    logs,
    logLines,
    token,
    tryConnect,
    connect: async (connectOptions = {}) => {
      const result = await tryConnect(connectOptions);
      if (!result.ok) throw new Error(`the upgrade was refused with ${result.status}: ${result.body}`);
      return result.client;
    },
    drain: () => {
      draining ??= gateway.drain().then(() => host.close());
      return draining;
    },
  };
}
