import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import type { AttachFrame, OpenFrame, ResumeFrame } from '../../client-sdk/src/protocol/index.js';
import { authorize, type Principal } from '../auth/principal.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { GatewayMetrics } from '../http/gateway-metrics.js';
import type { Readiness } from '../http/http-server.js';
import { SILENT_LOG, type RequestLog } from '../http/request-log.js';
import type { SessionGrant, SessionHandler } from '../http/upgrade-handler.js';
import type { HostLoad } from '../quota/admission.js';
import type { Lease, QuotaStore } from '../quota/quota-store.js';
import type { SessionPolicy } from '../quota/session-policy.js';
import type { SandboxRunner } from '../sandbox/sandbox-runner.js';
import { spawnExecSource } from './exec-source.js';
import { LiveSession } from './live-session.js';
import type { SessionContext, SessionLabel } from './session-context.js';
import { decideOpen } from './open-request.js';
import { spawnPtySource } from './pty-source.js';
import { ResumeTokenStore } from './resume-tokens.js';
import { SessionConnection } from './session-connection.js';
import type { SessionLayerLimits } from './session-limits.js';
import { SessionRegistry } from './session-registry.js';
import { sessionSettings, type SessionSettings } from './session-settings.js';

/**
 * The session step of the gateway (ARCHITECTURE.md: create | attach | resume): `onSession`
 * is the http step's SessionHandler. For each admitted connection it waits (openTimeoutMs)
 * for the first frame, then
 *
 *   open   → scope and spec (open-request.ts) → a LiveSession in the registry → spawn → hello
 *   resume → SessionRegistry.lookup (same tenant and user) → ResumeTokenStore.redeem
 *            → the session takes the connection over (the old one closes SG_RESUME_SUPERSEDED)
 *   attach → SessionRegistry.lookup (same tenant; same user, or the attach scope)
 *            → the connection watches the session, read-only (session-viewers.ts) → attached
 *
 * The connection's lease belongs to the session an `open` creates; a `resume` keeps the
 * session's own lease and gives the new one back at once, and so does an `attach` (a viewer
 * holds no session slot: maxViewersPerSession and maxViewersPerUser bound them). A connection
 * admitted on a hint (SessionGrant `hinted`) has no lease: it took no session slot, so its
 * first frame must be what the hint said, a resume of a live session or an attach; anything
 * else, or a resume that would be SG_RESUME_REJECTED, is refused as the quota would have
 * refused it (SG_USER_QUOTA, before any sandbox exists). `load()` is the gateway's hostLoad,
 * `drain()` its onDrain, and `close()` disposes every session (sandboxes killed, cgroups
 * removed, leases released) and resolves when all of that is done.
 */

/** Starts a session's sandbox; the default is the runner's PTY or pipes. */
export type SpawnSource = SessionContext['spawn'];

export interface SessionHostOptions {
  readonly config: GatewayConfig;
  /** Runs the sandboxes (SandboxRunner.open()); or give `spawn` instead. */
  readonly runner?: SandboxRunner;
  /** Overrides how sources are spawned (tests); default: the runner's PTY or pipes. */
  readonly spawn?: SpawnSource;
  /** The same store the gateway admits with (pass it to startGateway as deps.quotaStore). */
  readonly quotaStore: QuotaStore;
  /** Default: SILENT_LOG. Never receives a token. */
  readonly log?: RequestLog;
  /** The gateway's metrics (pass the same object as deps.metrics): sessions by state, spawn time. */
  readonly metrics?: GatewayMetrics;
  /** Session-layer limits (ring, watermarks, control-frame rate); default SESSION_LAYER_DEFAULTS. */
  readonly layer?: Partial<SessionLayerLimits>;
  /** TESTS ONLY: a ring too small for exact resume (session-settings.ts), to provoke resume-truncated. */
  readonly lossyResumeBufferBytes?: number;
}

/** One rejection for every resume that cannot go on, so a guess learns nothing (docs/protocol.md). */
const RESUME_REJECTED = 'The resume token is not valid for this session; open a new session.';
/** The answer to an open, or a rejected resume, on a connection admitted on the resume hint: one message for both. */
const RESUME_ONLY = 'This connection offered sandgate.resume and took no session slot (maxSessionsPerUser), so it may only resume a live session; open new sessions without the hint.';
/** The answer to anything but an attach on a connection admitted on the attach hint. */
const ATTACH_ONLY = 'This connection offered sandgate.attach and took no session slot, so it may only attach to a session; open new sessions without the hint.';
const SHUTTING_DOWN = { code: 1001, reason: 'gateway shutting down' } as const;

interface Pending {
  readonly connection: SessionConnection;
  readonly grant: SessionGrant;
  readonly timer: NodeJS.Timeout;
}

export class SessionHost {
  readonly settings: SessionSettings;
  readonly #registry = new SessionRegistry<LiveSession>();
  readonly #tokens = new ResumeTokenStore({ now: () => performance.now() });
  readonly #pending = new Set<Pending>();
  /** Viewer connections per `tenant/user` (tenant and user names hold no '/'): at most maxViewersPerUser. */
  readonly #viewersByUser = new Map<string, number>();
  readonly #labels = new Map<SessionLabel, number>();
  /** Disposals in progress (sandbox being killed, lease being released). */
  readonly #releasing = new Set<Promise<void>>();
  readonly #idleWaiters: (() => void)[] = [];
  readonly #store: QuotaStore;
  readonly #log: RequestLog;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #context: SessionContext;
  #spawnsInFlight = 0;
  #draining = false;
  #closing: Promise<void> | undefined;

  constructor(options: SessionHostOptions) {
    this.settings = sessionSettings(options.config, { layer: options.layer, lossyResumeBufferBytes: options.lossyResumeBufferBytes });
    this.#store = options.quotaStore;
    this.#log = options.log ?? SILENT_LOG;
    this.#metrics = options.metrics;
    const spawn = options.spawn ?? runnerSpawn(options.runner);
    this.#context = {
      settings: this.settings,
      tokens: this.#tokens,
      quotaStore: this.#store,
      log: this.#log,
      now: () => performance.now(),
      isDraining: () => this.#draining,
      spawn,
      spawning: (finished) => {
        this.#spawnsInFlight += finished === undefined ? 1 : -1;
        if (finished?.seconds !== undefined) this.#metrics?.spawnSeconds.observe({}, finished.seconds);
      },
      stateChanged: (from, to) => this.#count(from, to),
      ended: (session) => {
        this.#registry.remove(session);
        this.#tokens.prune();
      },
      disposing: (_session, released) => this.#track(released),
    };
  }

  /** The gateway's SessionHandler: owns the connection and a granted lease from here on. */
  readonly onSession: SessionHandler = (ws: WebSocket, _request: IncomingMessage, principal: Principal, grant: SessionGrant, policy: SessionPolicy): void => {
    const connection = new SessionConnection(ws, this.settings.frameLimits, this.settings.socketBacklogLimitBytes, this.#log);
    if (this.#closing !== undefined || this.#draining) {
      connection.fail('SG_SHUTTING_DOWN', 'The gateway is shutting down and opens no new session.');
      this.#giveBack(grant, 'gateway shutting down');
      return;
    }
    const timer = setTimeout(() => {
      connection.fail('SG_PROTO_OPEN_TIMEOUT', `No open, resume or attach frame within openTimeoutMs (${this.settings.openTimeoutMs} ms) of the upgrade.`);
    }, this.settings.openTimeoutMs);
    const pending: Pending = { connection, grant, timer };
    this.#pending.add(pending);
    connection.bind({
      frame: (frame) => {
        if (!this.#settle(pending)) return;
        if (grant.kind === 'hinted' && frame.type !== grant.hint) {
          // Checked before anything is spawned: the hint took no slot, so it does only what it said.
          this.#log({ event: 'session.hint-refused', level: 'info', hint: grant.hint, frame: frame.type, tenant: principal.tenant, user: principal.user });
          return connection.fail('SG_USER_QUOTA', grant.hint === 'resume' ? RESUME_ONLY : ATTACH_ONLY);
        }
        if (frame.type === 'resume') return this.#resume(connection, frame, principal, grant);
        if (frame.type === 'attach') return this.#attach(connection, frame, principal, grant);
        if (frame.type === 'open' && grant.kind === 'new') return this.#open(connection, frame, principal, grant.lease, policy);
        // The conversation reducer lets nothing else come first; a bug if it does.
        connection.fail('SG_PROTO_OUT_OF_ORDER', `${frame.type} before open, resume or attach`);
        this.#giveBack(grant, 'no open');
      },
      closed: () => {
        if (this.#settle(pending)) this.#giveBack(grant, 'closed before open');
      },
    });
  };

  /**
   * This node's load for admission (the gateway's hostLoad): sessions alive or being opened.
   * Connections admitted on the resume hint are not counted: they can only reattach a session
   * that is counted already.
   */
  load(): HostLoad {
    let opening = 0;
    for (const pending of this.#pending) if (pending.grant.kind === 'new') opening += 1;
    return { sessions: this.#registry.size + opening, spawnsInFlight: this.#spawnsInFlight, pressure: 0 };
  }

  /** For /readyz: sandboxes can be started while the host is not closing. */
  readiness(): Readiness {
    return this.#closing === undefined ? { ready: true } : { ready: false, code: 'SG_SHUTTING_DOWN', message: 'The gateway is shutting down.' };
  }

  get sessionCount(): number {
    return this.#registry.size;
  }

  /**
   * Resolves once no connection waits for its first frame and no session is registered or
   * being released: every sandbox gone, every lease given back (at once when that is so now).
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#registry.size === 0 && this.#pending.size === 0 && this.#releasing.size === 0;
  }

  #wakeIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** The gateway's onDrain: every session gets a shutting-down notice with the deadline; no new session opens. */
  drain(drain: { readonly drainTimeoutMs: number }): void {
    this.#draining = true;
    for (const session of this.#registry.sessions()) session.notifyShutdown(drain.drainTimeoutMs);
  }

  /** Ends everything: pending connections and every session (1001), sandboxes, cgroups, leases. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#draining = true;
      for (const pending of [...this.#pending]) {
        if (!this.#settle(pending)) continue;
        pending.connection.close(SHUTTING_DOWN.code, SHUTTING_DOWN.reason);
        this.#giveBack(pending.grant, 'gateway shutting down');
      }
      await Promise.all(this.#registry.sessions().map((session) => session.dispose(SHUTTING_DOWN)));
    })();
    return this.#closing;
  }

  /** Takes `pending` out of the waiting set; false when it was settled already. */
  #settle(pending: Pending): boolean {
    if (!this.#pending.delete(pending)) return false;
    clearTimeout(pending.timer);
    return true;
  }

  #open(connection: SessionConnection, frame: OpenFrame, principal: Principal, lease: Lease, policy: SessionPolicy): void {
    if (this.#draining) {
      connection.fail('SG_SHUTTING_DOWN', 'The gateway is shutting down and opens no new session.');
      return this.#release(lease, 'gateway shutting down');
    }
    const decision = decideOpen(frame, principal, policy);
    if (!decision.ok) {
      connection.fail(decision.code, decision.message);
      return this.#release(lease, 'open refused');
    }
    const session = new LiveSession(this.#context, { id: lease.sessionId, kind: frame.kind, principal, policy, lease, spec: decision.spec, size: decision.size, connection });
    const added = this.#registry.add(session, policy.quota);
    if (!added.ok) {
      // Defence in depth: the cluster-wide lease admitted it, this node's own count did not.
      connection.fail(added.error.code, added.error.message);
      void session.dispose();
      return;
    }
    this.#log({ event: 'session.open', level: 'info', sessionId: session.id, kind: frame.kind, tenant: principal.tenant, user: principal.user });
    void session.start();
  }

  #resume(connection: SessionConnection, frame: ResumeFrame, principal: Principal, grant: SessionGrant): void {
    // The resumed session keeps its own lease; this connection's is not needed.
    this.#giveBack(grant, 'resume');
    // On a hinted connection a failed resume must not read as "open a new session here".
    const reject = (code: ErrorCode, message: string): void =>
      grant.kind === 'hinted' && code === 'SG_RESUME_REJECTED' ? connection.fail('SG_USER_QUOTA', RESUME_ONLY) : connection.fail(code, message);
    const found = this.#registry.lookup(principal, frame.sessionId, 'resume');
    if (!found.ok) {
      // The same work as a real check (a digest comparison), then the same answer.
      this.#tokens.redeem(frame.resumeToken, { tenant: principal.tenant, user: principal.user, sessionId: frame.sessionId });
      return reject('SG_RESUME_REJECTED', RESUME_REJECTED);
    }
    const forbidden = authorize(principal, { scope: found.session.kind });
    if (forbidden !== undefined) return connection.fail(forbidden.code, `resume: the token lacks the "${found.session.kind}" scope.`);
    const refused = found.session.resume(connection, frame);
    if (refused !== undefined) return reject(refused.code, refused.message);
    this.#log({ event: 'session.resume', level: 'info', sessionId: found.session.id, tenant: principal.tenant, user: principal.user, hinted: grant.kind === 'hinted' });
  }

  #attach(connection: SessionConnection, frame: AttachFrame, principal: Principal, grant: SessionGrant): void {
    this.#giveBack(grant, 'attach');
    const found = this.#registry.lookup(principal, frame.sessionId, 'attach');
    if (!found.ok) return connection.fail(found.error.code, found.error.message);
    // Viewers take no session slot, so they are counted here: one user cannot hold every
    // viewer place of the tenant's sessions, nor this node's connections, by watching.
    const key = `${principal.tenant}/${principal.user}`;
    const watching = this.#viewersByUser.get(key) ?? 0;
    const max = this.settings.layer.maxViewersPerUser;
    if (watching >= max) return connection.fail('SG_VIEWER_LIMIT', `This user already watches ${watching} sessions (maxViewersPerUser ${max}); close a viewer first.`);
    const refused = found.session.attach(connection, frame);
    if (refused !== undefined) return connection.fail(refused.code, refused.message);
    this.#viewersByUser.set(key, watching + 1);
    connection.onceClosed(() => {
      const left = (this.#viewersByUser.get(key) ?? 1) - 1;
      if (left > 0) this.#viewersByUser.set(key, left);
      else this.#viewersByUser.delete(key);
    });
    this.#log({ event: 'session.attach', level: 'info', sessionId: found.session.id, tenant: principal.tenant, user: principal.user, owner: found.session.owner.user });
  }

  /** Releases the lease of a `new` grant (a `resume` grant holds none). */
  #giveBack(grant: SessionGrant, why: string): void {
    if (grant.kind === 'new') this.#release(grant.lease, why);
  }

  #release(lease: Lease, why: string): void {
    const released = this.#store.release(lease).catch((error: unknown) => {
      // The lease expires by itself within leaseTtlMs.
      this.#log({ event: 'lease.release-failed', level: 'warn', why, error: error instanceof Error ? error.message : 'unknown' });
    });
    this.#track(released);
  }

  /** Counts `released` as in progress until it settles (for idle()). */
  #track(released: Promise<void>): void {
    this.#releasing.add(released);
    void released.finally(() => {
      this.#releasing.delete(released);
      this.#wakeIdle();
    });
  }

  #count(from: SessionLabel | undefined, to: SessionLabel | undefined): void {
    for (const [label, delta] of [[from, -1], [to, 1]] as const) {
      if (label === undefined) continue;
      const value = (this.#labels.get(label) ?? 0) + delta;
      this.#labels.set(label, value);
      this.#metrics?.sessions.set({ state: label }, value);
    }
  }
}

function runnerSpawn(runner: SandboxRunner | undefined): SpawnSource {
  if (runner === undefined) throw new RangeError('SessionHost needs a SandboxRunner (options.runner) or a spawn function (options.spawn)');
  return (kind, spec, size, events) =>
    kind === 'pty' ? spawnPtySource(runner, spec, size ?? { cols: 80, rows: 24 }, events) : spawnExecSource(runner, spec, events);
}
