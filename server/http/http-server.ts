import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '../../client-sdk/src/protocol/frames.js';
import { countRefusal, type GatewayMetrics } from './gateway-metrics.js';
import type { HandshakeDeadlines } from './handshake-deadline.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics-registry.js';
import { JSON_HEADERS, sendRefusal, writeRawRefusal, type HttpRefusal } from './refusal.js';
import { requestFields, type RequestLog } from './request-log.js';

/**
 * The gateway's plain HTTP side: a node:http server whose timeouts bound every request, and
 * the routes /healthz (the process is alive), /readyz (it would admit a session now),
 * /metrics (Prometheus text) and / (a placeholder page until the terminal page lands).
 * Anything else is a 404 with a JSON body. Upgrades are upgrade-handler.ts's.
 */

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly code: ErrorCode; readonly message: string };

export interface HttpServerOptions {
  /** Every request must be complete this long after its connection opened, ms (config handshakeTimeoutMs). */
  readonly handshakeTimeoutMs: number;
  /**
   * TCP connections accepted at once; beyond it node closes new sockets unanswered. It sits
   * above maxConnections + maxHandshakesInFlight so that those limits answer with a 503 first.
   */
  readonly maxSockets: number;
}

/** Idle keep-alive connections are closed after this long, ms (node's default). */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

export function createHttpServer(options: HttpServerOptions): Server {
  const server = createServer({
    // Node answers 408 and closes a connection whose request is not complete in time. The
    // check runs every connectionsCheckingInterval (default 30 s, far too coarse for a short
    // handshake timeout), so that is scaled to the timeout.
    headersTimeout: options.handshakeTimeoutMs,
    requestTimeout: options.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(options.handshakeTimeoutMs / 4))),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requireHostHeader: true,
  });
  server.maxConnections = options.maxSockets;
  server.maxHeadersCount = 100;
  return server;
}

export interface HttpRoutesContext {
  /** The WebSocket path (a plain GET there gets 426). */
  readonly sessionsPath: string;
  readonly metrics: GatewayMetrics;
  readonly log: RequestLog;
  readonly deadlines: HandshakeDeadlines;
  readonly isDraining: () => boolean;
  /** Whether this node can run sandboxes now (the sandbox step's probe). */
  readonly readiness: () => Readiness;
  readonly retryAfterSec: () => number;
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** The path of a request target (origin-form or absolute-form), without query; '' when unusable. */
export function requestPath(req: IncomingMessage): string {
  const target = req.url ?? '';
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0] ?? '';
  try {
    return new URL(target).pathname;
  } catch {
    return '';
  }
}

/** The 'request' listener. Every answer is complete and bounded; none echoes request data. */
export function createRequestHandler(context: HttpRoutesContext): (req: IncomingMessage, res: ServerResponse) => void {
  const refuse = (req: IncomingMessage, res: ServerResponse, refusal: HttpRefusal): void => {
    countRefusal(context.metrics, refusal.code);
    context.log({ event: 'http.refused', level: 'info', code: refusal.code, ...requestFields(req) });
    sendRefusal(res, refusal);
  };
  const routes: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>> = {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': (req, res) => {
      if (context.isDraining()) {
        refuse(req, res, { code: 'SG_SHUTTING_DOWN', message: 'The gateway is draining for a shutdown.', retryAfterSec: context.retryAfterSec() });
        return;
      }
      const readiness = context.readiness();
      if (!readiness.ready) refuse(req, res, { code: readiness.code, message: readiness.message, retryAfterSec: context.retryAfterSec() });
      else sendJson(res, 200, { status: 'ready' });
    },
    '/metrics': (_req, res) => sendText(res, PROMETHEUS_CONTENT_TYPE, context.metrics.registry.exposition()),
    '/': (_req, res) => sendPlaceholderPage(res, context.sessionsPath),
  };

  return (req, res) => {
    context.deadlines.disarm(req.socket);
    const path = requestPath(req);
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route !== undefined) {
      if (READ_METHODS.has(req.method ?? '')) route(req, res);
      else refuse(req, res, { code: 'SG_METHOD_NOT_ALLOWED', message: `${path} answers GET and HEAD only.`, headers: { Allow: 'GET, HEAD' } });
    } else if (path === context.sessionsPath) {
      refuse(req, res, {
        code: 'SG_UPGRADE_REQUIRED',
        message: `${path} is a WebSocket endpoint: upgrade with Sec-WebSocket-Version 13 and the subprotocol ${SUBPROTOCOL}.`,
        headers: { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' },
      });
    } else {
      refuse(req, res, { code: 'SG_NOT_FOUND', message: 'No such route: the gateway serves /, /healthz, /readyz, /metrics and its WebSocket path.' });
    }
  };
}

/**
 * The 'clientError' listener: a request node could not parse or that timed out. Answered with
 * a JSON refusal when nothing was written on the connection yet, else just closed.
 */
export function createClientErrorHandler(context: Pick<HttpRoutesContext, 'metrics' | 'log' | 'deadlines'>): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    // Handled here: the handshake deadline must not count (or cut) this connection a second time.
    context.deadlines.disarm(socket);
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const code: ErrorCode = timedOut ? 'SG_HANDSHAKE_TIMEOUT' : 'SG_HANDSHAKE_INVALID';
    if (error.code === 'ECONNRESET' || !(socket instanceof Socket) || socket.bytesWritten > 0) {
      socket.destroy();
      return;
    }
    countRefusal(context.metrics, code);
    context.log({ event: 'http.client-error', level: 'info', code, cause: error.code ?? 'unknown', remote: socket.remoteAddress ?? null });
    writeRawRefusal(socket, { code, message: timedOut ? 'The request was not complete within handshakeTimeoutMs.' : 'The request could not be parsed as HTTP/1.1.' });
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendText(res: ServerResponse, contentType: string, text: string): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** Until the terminal page lands: how to connect. No script, nothing from the request reflected. */
function sendPlaceholderPage(res: ServerResponse, sessionsPath: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sandgate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}code,pre{background:#f3f3f3;padding:.1rem .3rem}</style>
</head><body>
<h1>sandgate</h1>
<p>This gateway gives every authenticated WebSocket session a terminal in a fresh Linux sandbox.
The browser terminal is not served here yet. Connect with:</p>
<pre>npx sandgate connect ws://&lt;this host&gt;${escapeHtml(sessionsPath)} --token "$TOKEN"</pre>
<p>From a program: open a WebSocket to <code>${escapeHtml(sessionsPath)}</code> offering the subprotocol
<code>${SUBPROTOCOL}</code>, with <code>Authorization: Bearer &lt;token&gt;</code> (or, in a browser, a second subprotocol
<code>${TOKEN_SUBPROTOCOL_PREFIX}&lt;token&gt;</code>). Never put the token in the URL.</p>
<p>Health: <a href="/healthz">/healthz</a> · readiness: <a href="/readyz">/readyz</a> · metrics: <a href="/metrics">/metrics</a></p>
</body></html>
`;
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(html)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
  });
  res.end(res.req.method === 'HEAD' ? undefined : html);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
