import type { ExecutionContext } from 'ava';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { generateDevKeys } from '../../../server/auth/dev-keys.js';
import type { TokenLimits } from '../../../server/auth/effective-limits.js';
import type { Principal, Scope } from '../../../server/auth/principal.js';
import { loadSigningKey, signToken } from '../../../server/auth/token-signer.js';
import { parseGatewayConfig, type GatewayConfig } from '../../../server/config/gateway-config.js';
import { startGateway, type Gateway, type GatewayDeps } from '../../../server/http/gateway.js';
import { createRequestLog, type LogRecord } from '../../../server/http/request-log.js';
import type { Lease } from '../../../server/quota/quota-store.js';
import type { SessionPolicy } from '../../../server/quota/session-policy.js';

export const ALLOWED_ORIGIN = 'https://term.example.com';

/** What the session layer received for one admitted connection. */
export interface AdmittedSession {
  readonly ws: WebSocket;
  readonly request: IncomingMessage;
  readonly principal: Principal;
  readonly lease: Lease;
  readonly policy: SessionPolicy;
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly config: GatewayConfig;
  /** Log lines as written (JSON text), to check that no token reaches them. */
  readonly logLines: string[];
  readonly logs: LogRecord[];
  /** Resolves with the next connection handed to onSession. */
  nextSession(): Promise<AdmittedSession>;
  token(claims?: { tenant?: string; user?: string; scopes?: Scope[]; limits?: TokenLimits }): Promise<string>;
}

/**
 * A real gateway on 127.0.0.1, port 0, with dev keys in a temporary directory; `raw` is laid
 * over a test configuration (short timeouts) and validated like any config. Everything it
 * opened — server, connections, the directory — is gone after the test.
 */
export async function startTestGateway(t: ExecutionContext, raw: Record<string, unknown> = {}, deps: Partial<GatewayDeps> = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'sandgate-http-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keys = await generateDevKeys(join(dir, 'keys'));
  const config = parseGatewayConfig({
    port: 0,
    handshakeTimeoutMs: 2000,
    pingIntervalMs: 0,
    ...raw,
    auth: { keys: [{ kid: keys.kid, publicKeyFile: keys.publicKeyFile }], allowedOrigins: [ALLOWED_ORIGIN], ...(typeof raw['auth'] === 'object' ? raw['auth'] : {}) },
  });
  const signingKey = await loadSigningKey(keys.signingKey);
  const logLines: string[] = [];
  const logs: LogRecord[] = [];
  const write = createRequestLog((line) => void logLines.push(line));
  const waiting: ((session: AdmittedSession) => void)[] = [];
  const queued: AdmittedSession[] = [];
  const gateway = await startGateway(config, {
    onSession: (ws, request, principal, grant, policy) => {
      // These tests never offer the resume hint, so every grant holds a lease.
      if (grant.kind !== 'new') throw new Error('the http fixture expects new-session grants only');
      const session = { ws, request, principal, lease: grant.lease, policy };
      const next = waiting.shift();
      if (next === undefined) queued.push(session);
      else next(session);
    },
    log: (record) => {
      logs.push(record);
      write(record);
    },
    random: () => 0,
    ...deps,
  });
  t.teardown(() => gateway.close());
  return {
    gateway,
    config,
    logLines,
    logs,
    nextSession: () => {
      const ready = queued.shift();
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    token: async (claims = {}) =>
      signToken(signingKey, { tenant: claims.tenant ?? 'acme', user: claims.user ?? 'alice', ttlMs: 600_000, scopes: claims.scopes ?? ['pty', 'exec'], ...(claims.limits === undefined ? {} : { limits: claims.limits }) }, config.auth).token,
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export async function httpGet(url: string, method = 'GET'): Promise<HttpAnswer> {
  const req = httpRequest(url, { method, agent: false });
  req.end();
  const [res] = await once(req, 'response');
  return readAnswer(res);
}

async function readAnswer(res: IncomingMessage): Promise<HttpAnswer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(Buffer.from(chunk));
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
}

export interface ClientOptions {
  readonly protocols?: string[];
  readonly headers?: Record<string, string>;
  readonly origin?: string;
  /** Appended to the sessions URL (a query, another path). */
  readonly urlSuffix?: string;
  readonly url?: string;
}

function client(gateway: Gateway, options: ClientOptions): WebSocket {
  return new WebSocket(options.url ?? `${gateway.sessionsUrl}${options.urlSuffix ?? ''}`, options.protocols ?? ['sandgate.v1'], {
    headers: options.headers ?? {},
    ...(options.origin === undefined ? {} : { origin: options.origin }),
  });
}

/** An upgrade the gateway refuses: its HTTP answer (fails the test if it is accepted). */
export async function refusedUpgrade(gateway: Gateway, options: ClientOptions = {}): Promise<HttpAnswer> {
  const ws = client(gateway, options);
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (req, res) => {
      readAnswer(res).then((answer) => {
        req.destroy();
        resolve(answer);
      }, reject);
    });
  });
}

/** An admitted connection, and the response headers of its upgrade. */
export async function openedUpgrade(gateway: Gateway, options: ClientOptions = {}): Promise<{ ws: WebSocket; headers: IncomingHttpHeaders }> {
  const ws = client(gateway, options);
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    ws.on('upgrade', (res) => {
      headers = res.headers;
    });
    ws.on('open', () => resolve({ ws, headers }));
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode ?? 0}`)));
  });
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** A raw TCP connection to the gateway, closed after the test. */
export async function rawSocket(t: ExecutionContext, gateway: Gateway): Promise<Socket> {
  const socket = connect(gateway.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined); // a reset by the server is what some tests expect
  await once(socket, 'connect');
  return socket;
}

/**
 * Resolves when `socket` has closed. Not events.once: that rejects on 'error', and a socket
 * the server destroys while the client is writing ends with ECONNRESET before 'close'.
 */
export function closed(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** A complete upgrade request as raw bytes. */
export function rawUpgradeRequest(path: string, headers: Record<string, string>): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: sandgate.v1',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export function parseJson(body: string): Record<string, unknown> {
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a JSON object: ${body}`);
  return Object.fromEntries(Object.entries(value));
}
