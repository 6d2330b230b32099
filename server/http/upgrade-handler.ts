import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { SessionHint } from '../../client-sdk/src/protocol/frames.js';
import { parseSubprotocolHeader, selectSubprotocol } from '../../client-sdk/src/protocol/subprotocol.js';
import { AuthError } from '../auth/auth-error.js';
import { authenticateRequest } from '../auth/authenticate-request.js';
import type { Principal } from '../auth/principal.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { SandgateError } from '../errors/sandgate-error.js';
import { decideConnection, decideHost, refusalForDenial, type HostLoad, type RetryPolicy } from '../quota/admission.js';
import type { AcquireResult, Lease, QuotaStore } from '../quota/quota-store.js';
import { sessionPolicy, type SessionPolicy } from '../quota/session-policy.js';
import type { ConnectionTracker } from './connection-tracker.js';
import { countRefusal, type GatewayMetrics } from './gateway-metrics.js';
import type { HandshakeDeadlines } from './handshake-deadline.js';
import { requestPath } from './http-server.js';
import { writeRawRefusal, type HttpRefusal } from './refusal.js';
import { requestFields, type RequestLog } from './request-log.js';

/**
 * What admission granted a connection:
 * - `new`: a session slot, held as `lease` (counted against the user's and tenant's quotas);
 * - `hinted`: the client offered `sandgate.resume` or `sandgate.attach`, so no slot was
 *   counted and no lease taken. The connection may only do what its hint says, resume a
 *   session (which keeps its own lease) or watch one: the session layer refuses anything else,
 *   and a rejected resume, as a quota refusal would (SG_USER_QUOTA), and starts no sandbox.
 */
export type SessionGrant = { readonly kind: 'new'; readonly lease: Lease } | { readonly kind: 'hinted'; readonly hint: SessionHint };

/**
 * The session layer's entry point: called once per admitted upgrade, synchronously, with the
 * open WebSocket (subprotocol exactly `sandgate.v1`), the upgrade request, the verified
 * principal, what admission granted and the session's policy. From here the session layer
 * owns the connection and a granted LEASE: it renews it (keepLeaseAlive) and releases it in
 * its dispose(). The request's Authorization and Sec-WebSocket-Protocol headers hold the
 * token: never log them.
 */
export type SessionHandler = (ws: WebSocket, request: IncomingMessage, principal: Principal, grant: SessionGrant, policy: SessionPolicy) => void;

export interface UpgradeContext {
  readonly config: GatewayConfig;
  readonly verifier: TokenVerifier;
  /** auth.allowedOrigins, plus in dev mode the gateway's own origin (known once it listens). */
  readonly allowedOrigins: () => readonly string[];
  readonly store: QuotaStore;
  readonly wss: WebSocketServer;
  readonly tracker: ConnectionTracker;
  readonly deadlines: HandshakeDeadlines;
  readonly metrics: GatewayMetrics;
  readonly log: RequestLog;
  readonly onSession: SessionHandler;
  readonly hostLoad: () => HostLoad;
  readonly isDraining: () => boolean;
  readonly now: () => number;
  /** In [0, 1), for Retry-After jitter. */
  readonly random: () => number;
}

/** The grants of connections that offered a hint: no slot, no lease. */
const HINTED: Readonly<Record<SessionHint, SessionGrant>> = Object.freeze({
  resume: Object.freeze({ kind: 'hinted', hint: 'resume' }),
  attach: Object.freeze({ kind: 'hinted', hint: 'attach' }),
});

/** Sec-WebSocket-Key: 16 random bytes in base64 (RFC 6455 §4.1); the same test as ws's. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** A subprotocol entry is an RFC 7230 token; ws refuses the header otherwise. */
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The 'upgrade' listener. Checks run cheapest first and each refusal is an HTTP response on
 * the raw socket, so a client never gets a WebSocket it cannot use:
 *
 *   draining, connections, handshakes in flight (decideConnection)
 *   → path → GET, Upgrade, Sec-WebSocket-Version/Key → subprotocol sandgate.v1
 *   → Origin and token (authenticateRequest) → a pty, exec or attach scope → the session policy
 *   → host load (decideHost) → the tenant's and user's sessions (QuotaStore, atomic)
 *   → ws handleUpgrade → onSession
 *
 * A connection that offers a hint (`sandgate.resume`, `sandgate.attach`) asks for no new
 * session: it skips the host's session gates and the quota store, and gets no lease
 * (SessionGrant `hinted`); the connection gates above still apply. The session layer then
 * accepts only a valid `resume` (or an `attach`) on it, so a hint cannot open a session past
 * a quota.
 *
 * The whole handshake runs under the connection's deadline (handshakeTimeoutMs), the quota
 * store's round trip included; a lease taken for a socket that went away meanwhile is given back.
 */
export function createUpgradeHandler(context: UpgradeContext): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { config, tracker } = context;

  const refuse = (req: IncomingMessage, socket: Duplex, refusal: HttpRefusal, extra: Record<string, unknown> = {}): void => {
    countRefusal(context.metrics, refusal.code);
    context.log({ event: 'upgrade.refused', level: 'info', code: refusal.code, ...requestFields(req), ...extra });
    writeRawRefusal(socket, refusal);
  };

  const release = (lease: Lease, why: string): void => {
    context.store.release(lease).catch((error: unknown) => {
      // The lease expires by itself within leaseTtlMs; the failure is worth a line, not a crash.
      context.log({ event: 'lease.release-failed', level: 'warn', why, error: error instanceof Error ? error.message : 'unknown' });
    });
  };

  /** The host's gates and a lease from the quota store; undefined when refused (the refusal is written). */
  const takeSessionSlot = async (req: IncomingMessage, socket: Duplex, retry: RetryPolicy, who: { tenant: string; user: string }, policy: SessionPolicy): Promise<SessionGrant | undefined> => {
    const host = decideHost(context.hostLoad(), config, retry);
    if (!host.admit) return void refuse(req, socket, host, { ...who, limit: host.limitName });
    let acquired: AcquireResult;
    try {
      acquired = await context.store.acquireSession({ ...who, sessionId: newSessionId(), limits: policy.quota });
    } catch (error) {
      context.log({ event: 'quota.unavailable', level: 'error', error: error instanceof Error ? error.message : 'unknown' });
      return void refuse(req, socket, { code: 'SG_QUOTA_UNAVAILABLE', message: 'The quota store could not be reached; no session was admitted.', retryAfterSec: retry.retryAfterSec }, who);
    }
    if (!acquired.ok) {
      const refusal = refusalForDenial(acquired.denial, retry);
      return void refuse(req, socket, refusal, { ...who, limit: refusal.limitName });
    }
    return { kind: 'new', lease: acquired.lease };
  };

  const admit = async (req: IncomingMessage, socket: Duplex, head: Buffer, retry: RetryPolicy): Promise<void> => {
    const checked = checkUpgradeRequest(req, config.path);
    if (!checked.ok) return refuse(req, socket, checked.refusal);

    const auth = authenticateRequest(req, { verifier: context.verifier, allowedOrigins: context.allowedOrigins() }, context.now());
    if (auth instanceof AuthError) return refuse(req, socket, { code: auth.code, message: auth.message });
    const { principal } = auth;
    const who = { tenant: principal.tenant, user: principal.user };
    if (!principal.scopes.has('pty') && !principal.scopes.has('exec') && !principal.scopes.has('attach')) {
      return refuse(req, socket, { code: 'SG_AUTH_FORBIDDEN', message: 'The token grants none of the "pty", "exec" and "attach" scopes, so it can neither open nor watch a session.' }, who);
    }
    const policy = sessionPolicy(config, principal);
    if (policy instanceof SandgateError) return refuse(req, socket, { code: policy.code, message: `The token's limits leave no runnable sandbox: ${policy.message}` }, who);

    const grant = checked.hint !== undefined ? HINTED[checked.hint] : await takeSessionSlot(req, socket, retry, who, policy);
    if (grant === undefined) return;
    const giveBack = (why: string): void => {
      if (grant.kind === 'new') release(grant.lease, why);
    };
    if (socket.destroyed || !socket.writable) {
      giveBack('client gone during admission');
      context.log({ event: 'upgrade.abandoned', level: 'info', ...who, ...requestFields(req) });
      return;
    }

    const sessionId = grant.kind === 'new' ? grant.lease.sessionId : undefined;
    let handedOff = false;
    context.wss.handleUpgrade(req, socket, head, (ws) => {
      handedOff = true;
      context.deadlines.disarm(socket);
      tracker.adopt(ws);
      context.metrics.admissions.inc({});
      context.log({ event: 'upgrade.admitted', level: 'info', ...who, grant: grant.kind, sessionId, transport: auth.transport, ...requestFields(req) });
      try {
        context.onSession(ws, req, principal, grant, policy);
      } catch (error) {
        // A bug in the session layer: this connection ends, the gateway and the other sessions go on.
        context.log({ event: 'session.handler-failed', level: 'error', ...who, sessionId, error: error instanceof Error ? error.message : 'unknown' });
        giveBack('onSession threw');
        ws.close(1011, 'internal error');
      }
    });
    // Without verifyClient and with perMessageDeflate off, ws completes or aborts the
    // handshake synchronously (lib/websocket-server.js handleUpgrade → completeUpgrade), so
    // by now the connection was handed off or refused by ws (wsClientError): give the lease back.
    if (!handedOff) giveBack('ws refused the handshake');
  };

  return (req, socket, head) => {
    // Node detaches its own error listener from an upgraded socket: without one, a reset
    // during the handshake would be an unhandled 'error' event.
    socket.on('error', () => socket.destroy());
    if (!context.deadlines.isArmed(socket)) context.deadlines.arm(socket);
    const retry: RetryPolicy = { retryAfterSec: config.retryAfterSec, jitter: context.random() };
    const gate = decideConnection(
      { draining: context.isDraining(), openConnections: tracker.openConnections, handshakesInFlight: tracker.handshakesInFlight },
      config,
      retry,
    );
    if (!gate.admit) {
      refuse(req, socket, gate, { limit: gate.limitName });
      return;
    }
    const endHandshake = tracker.beginHandshake();
    admit(req, socket, head, retry)
      .catch((error: unknown) => {
        context.log({ event: 'upgrade.failed', level: 'error', error: error instanceof Error ? error.message : 'unknown' });
        socket.destroy();
      })
      .finally(endHandshake);
  };
}

/** A well-formed upgrade request (and the hint it offers, if any), or its refusal. */
export type UpgradeCheck = { readonly ok: true; readonly hint: SessionHint | undefined } | { readonly ok: false; readonly refusal: HttpRefusal };

/**
 * What is wrong with an upgrade request before any token is looked at: the path, the
 * WebSocket headers (checked here as ws would, so that every refusal is JSON and comes before
 * a lease is taken) and the subprotocol offer.
 */
export function checkUpgradeRequest(req: IncomingMessage, sessionsPath: string): UpgradeCheck {
  const refused = (refusal: HttpRefusal): UpgradeCheck => ({ ok: false, refusal });
  const path = requestPath(req);
  if (path !== sessionsPath) return refused({ code: 'SG_NOT_FOUND', message: `No WebSocket endpoint at this path: sessions are at ${sessionsPath}.` });
  if (req.method !== 'GET') return refused({ code: 'SG_METHOD_NOT_ALLOWED', message: 'A WebSocket upgrade is a GET request (RFC 6455 §4.1).', headers: { Allow: 'GET' } });
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    return refused({ code: 'SG_UPGRADE_REQUIRED', message: 'Only an upgrade to websocket is accepted here.', headers: { Upgrade: 'websocket' } });
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    // RFC 6455 §4.4: answer with the versions the server speaks.
    return refused({ code: 'SG_UPGRADE_REQUIRED', message: 'Sec-WebSocket-Version must be 13.', headers: { 'Sec-WebSocket-Version': '13' } });
  }
  if (!WEBSOCKET_KEY.test(req.headers['sec-websocket-key'] ?? '')) {
    return refused({ code: 'SG_HANDSHAKE_INVALID', message: 'Sec-WebSocket-Key is missing or not 16 bytes in base64.' });
  }
  const offered = parseSubprotocolHeader(req.headers['sec-websocket-protocol']);
  if (offered.some((entry) => !TOKEN_CHARS.test(entry)) || new Set(offered).size !== offered.length) {
    return refused({ code: 'SG_HANDSHAKE_INVALID', message: 'Sec-WebSocket-Protocol must list distinct tokens separated by commas.' });
  }
  const selection = selectSubprotocol(offered);
  if (!selection.ok) return refused({ code: selection.error.code, message: selection.error.message });
  return { ok: true, hint: selection.hint };
}

/** 128 random bits, base64url: 22 characters, within the protocol's sessionId bounds. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}
