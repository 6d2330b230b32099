import type { SessionKind } from '../../client-sdk/src/protocol/index.js';
import type { Principal } from '../auth/principal.js';
import type { RequestLog } from '../http/request-log.js';
import type { Lease, QuotaStore } from '../quota/quota-store.js';
import type { SessionPolicy } from '../quota/session-policy.js';
import type { SandboxSpec } from '../sandbox/sandbox-spec.js';
import type { LiveSession } from './live-session.js';
import type { ResumeTokenStore } from './resume-tokens.js';
import type { SessionConnection } from './session-connection.js';
import type { SessionSettings } from './session-settings.js';
import type { SessionSource, SourceEvents } from './session-source.js';

/**
 * The seam between the session host (session-host.ts) and its sessions (live-session.ts):
 * what the host gives every session, and what a session is made from.
 */

/** What a session needs from its host; one object shared by every session of a gateway. */
export interface SessionContext {
  readonly settings: SessionSettings;
  readonly tokens: ResumeTokenStore;
  readonly quotaStore: QuotaStore;
  readonly log: RequestLog;
  /** Monotonic clock, ms (performance.now). */
  readonly now: () => number;
  readonly isDraining: () => boolean;
  readonly spawn: (kind: SessionKind, spec: SandboxSpec, size: SpawnSize | undefined, events: SourceEvents) => Promise<SessionSource>;
  /** Spawn started / finished (seconds, or undefined on failure): for hostLoad and metrics. */
  readonly spawning: (finished?: { readonly seconds: number | undefined }) => void;
  /** The session's metrics state changed (undefined: it is gone). */
  readonly stateChanged: (from: SessionLabel | undefined, to: SessionLabel | undefined) => void;
  /** The session is being disposed: unregister it. */
  readonly ended: (session: LiveSession) => void;
  /** dispose() started; `released` settles when everything the session held is gone. */
  readonly disposing: (session: LiveSession, released: Promise<void>) => void;
}

export type SpawnSize = { readonly cols: number; readonly rows: number };
export type SessionLabel = 'starting' | 'running' | 'detached' | 'exiting';

export interface LiveSessionInit {
  readonly id: string;
  readonly kind: SessionKind;
  readonly principal: Principal;
  readonly policy: SessionPolicy;
  readonly lease: Lease;
  readonly spec: SandboxSpec;
  readonly size: SpawnSize | undefined;
  /** The connection whose `open` made this session (number 0). */
  readonly connection: SessionConnection;
}

