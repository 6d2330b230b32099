import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { SUBPROTOCOL } from '../../client-sdk/src/protocol/frames.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { SandgateError } from '../errors/sandgate-error.js';
import { retryAfterSec, type HostLoad } from '../quota/admission.js';
import { EmbeddedQuotaStore } from '../quota/embedded-quota-store.js';
import type { QuotaStore } from '../quota/quota-store.js';
import { ConnectionTracker } from './connection-tracker.js';
import { countRefusal, createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { HandshakeDeadlines } from './handshake-deadline.js';
import { createClientErrorHandler, createHttpServer, createRequestHandler, type Readiness } from './http-server.js';
import { writeRawRefusal } from './refusal.js';
import { createRequestLog, requestFields, type RequestLog } from './request-log.js';
import { createUpgradeHandler, type SessionHandler } from './upgrade-handler.js';

/**
 * The gateway's front door, assembled: the HTTP server, its routes, the upgrade handler and
 * the connection tracker, listening on config.host:config.port. The session layer plugs in
 * through `onSession`; the monitor through `hostLoad`; the sandbox probe through `readiness`.
 */

export interface GatewayDeps {
  /** Receives every admitted connection (upgrade-handler.ts SessionHandler). */
  readonly onSession: SessionHandler;
  /** Default: TokenVerifier.fromConfig(config.auth). */
  readonly verifier?: TokenVerifier;
  /** Default: an EmbeddedQuotaStore (required when config.redisUrl is set). Not closed by the gateway when given. */
  readonly quotaStore?: QuotaStore;
  /** This node's load, sampled per upgrade. Default: the embedded store's live leases, no spawns, no pressure. */
  readonly hostLoad?: () => HostLoad;
  /** Whether sandboxes can run now, for /readyz. Default: ready. */
  readonly readiness?: () => Readiness;
  /** Called once when draining starts: tell sessions (a shutting-down notice) and let them end. */
  readonly onDrain?: (drain: { readonly drainTimeoutMs: number }) => void;
  /** Default: JSON lines on stderr. */
  readonly log?: RequestLog;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface Gateway {
  readonly host: string;
  /** The bound port (the ephemeral one when config.port is 0). */
  readonly port: number;
  /** `http://host:port/` */
  readonly url: string;
  /** `ws://host:port/v1/sessions` */
  readonly sessionsUrl: string;
  readonly metrics: GatewayMetrics;
  readonly quotaStore: QuotaStore;
  readonly draining: boolean;
  /**
   * Graceful stop: /readyz turns 503 and new upgrades get SG_SHUTTING_DOWN at once; open
   * sessions get drainTimeoutMs to end, then a 1001 close, then are cut. Resolves when closed.
   */
  drain(): Promise<void>;
  /** Immediate stop: every connection is cut, the server closed. Idempotent. */
  close(): Promise<void>;
}

/** Sockets beyond maxConnections + maxHandshakesInFlight still accepted, so health probes and 503s get through. */
const SOCKET_HEADROOM = 64;
/** After the 1001 close at the end of a drain, how long peers get to answer it, ms. */
const CLOSE_GRACE_MS = 1000;

export async function startGateway(config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  if (config.redisUrl !== undefined && deps.quotaStore === undefined) {
    throw new SandgateError('SG_CONFIG_INVALID', 'redisUrl is set, but no Redis quota store was given to the gateway (deps.quotaStore).', { option: 'redisUrl' });
  }
  const verifier = deps.verifier ?? (await TokenVerifier.fromConfig(config.auth));
  if (verifier.keys.size === 0) {
    throw new SandgateError('SG_CONFIG_INVALID', 'auth.keys is empty, so no token could ever be verified: configure a key (docs/auth.md) or start with --dev.', { option: 'auth.keys' });
  }
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const log = deps.log ?? createRequestLog();
  const metrics = deps.metrics ?? createGatewayMetrics();
  const { store, ownStore } = quotaStoreFor(config, deps.quotaStore, now);
  const tracker = new ConnectionTracker({ metrics, log, heartbeat: config });
  const hostLoad = deps.hostLoad ?? (() => ({ sessions: ownStore?.liveCount() ?? tracker.openConnections, spawnsInFlight: 0, pressure: 0 }));
  let draining = false;
  let allowedOrigins = config.auth.allowedOrigins;

  const server = createHttpServer({ handshakeTimeoutMs: config.handshakeTimeoutMs, maxSockets: config.maxConnections + config.maxHandshakesInFlight + SOCKET_HEADROOM });
  const sockets = new Set<Socket>();
  const deadlines = new HandshakeDeadlines(config.handshakeTimeoutMs, (socket) => {
    countRefusal(metrics, 'SG_HANDSHAKE_TIMEOUT');
    log({ event: 'handshake.timeout', level: 'info', handshakeTimeoutMs: config.handshakeTimeoutMs, remote: 'remoteAddress' in socket ? socket.remoteAddress : null });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    deadlines.arm(socket);
  });

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // ws refuses a bigger message with close 1009 before buffering it (docs/protocol.md "Bounds").
    maxPayload: Math.max(config.maxControlFrameBytes, config.maxDataFrameBytes),
    // Only the version is ever selected: the sandgate.token.<jwt> entry is never echoed.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    // The codec validates UTF-8 itself and answers SG_PROTO_MALFORMED (close 4400) as the docs
    // promise; ws's own check would close with a bare 1007 and no code first.
    skipUTF8Validation: true,
  });
  wss.on('wsClientError', (error, socket, req) => {
    countRefusal(metrics, 'SG_HANDSHAKE_INVALID');
    log({ event: 'upgrade.refused', level: 'info', code: 'SG_HANDSHAKE_INVALID', ...requestFields(req) });
    writeRawRefusal(socket, { code: 'SG_HANDSHAKE_INVALID', message: `The WebSocket handshake is invalid: ${error.message}.` });
  });

  const retryAfter = (): number => retryAfterSec({ retryAfterSec: config.retryAfterSec, jitter: random() });
  server.on('request', createRequestHandler({
    sessionsPath: config.path, metrics, log, deadlines, isDraining: () => draining, readiness: deps.readiness ?? (() => ({ ready: true })), retryAfterSec: retryAfter,
  }));
  server.on('clientError', createClientErrorHandler({ metrics, log, deadlines }));
  server.on('upgrade', createUpgradeHandler({
    config, verifier, allowedOrigins: () => allowedOrigins, store, wss, tracker, deadlines, metrics, log,
    onSession: deps.onSession, hostLoad, isDraining: () => draining, now, random,
  }));

  const port = await listen(server, config.host, config.port);
  const shownHost = displayHost(config.host);
  if (config.dev && allowedOrigins.length === 0) {
    // The terminal page is served from the gateway itself: in dev mode, its own origin.
    allowedOrigins = Object.freeze([`http://${shownHost}:${port}`, `http://localhost:${port}`, `http://127.0.0.1:${port}`]);
  }
  const url = `http://${shownHost}:${port}/`;
  const sessionsUrl = `ws://${shownHost}:${port}${config.path}`;
  log({ event: 'gateway.listening', level: 'info', url, sessionsUrl, dev: config.dev, quotaStore: ownStore === undefined ? 'injected' : 'embedded' });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      tracker.stop();
      deadlines.clear();
      tracker.terminateAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await ownStore?.close();
      log({ event: 'gateway.closed', level: 'info' });
    })();
    return closing;
  };

  let drainingDone: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drainingDone ??= (async () => {
      draining = true;
      metrics.draining.set({}, 1);
      log({ event: 'gateway.draining', level: 'info', drainTimeoutMs: config.drainTimeoutMs, openConnections: tracker.openConnections });
      deps.onDrain?.({ drainTimeoutMs: config.drainTimeoutMs });
      await within(tracker.whenAllClosed(), config.drainTimeoutMs);
      tracker.closeAll(1001, 'gateway shutting down');
      await within(tracker.whenAllClosed(), CLOSE_GRACE_MS);
      await close();
    })();
    return drainingDone;
  };

  return {
    host: config.host,
    port,
    url,
    sessionsUrl,
    metrics,
    quotaStore: store,
    get draining() {
      return draining;
    },
    drain,
    close,
  };
}

function quotaStoreFor(config: GatewayConfig, given: QuotaStore | undefined, now: () => number): { store: QuotaStore; ownStore?: EmbeddedQuotaStore } {
  if (given !== undefined) return { store: given };
  const own = new EmbeddedQuotaStore({ leaseTtlMs: config.leaseTtlMs, now });
  return { store: own, ownStore: own };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error & { code?: string }): void => {
      reject(new SandgateError('SG_CONFIG_INVALID', `Cannot listen on ${host}:${port}: ${error.code ?? error.message}.`, { option: 'port' }, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/** A host as it goes in a URL: IPv6 in brackets, and a wildcard address shown as loopback. */
function displayHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
