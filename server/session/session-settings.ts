import type { FrameLimits, SessionLimits } from '../../client-sdk/src/protocol/index.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { SandgateError } from '../errors/sandgate-error.js';
import { controlFrameLimit, stdinByteLimit, type RateLimit } from './input-limiter.js';
import { PTY_READ_MAX_BYTES, requiredRingBytes, SESSION_LAYER_DEFAULTS, sessionLimitProblems, socketBacklogLimitBytes, type SessionLayerLimits } from './session-limits.js';

/**
 * The limits every live session of a gateway runs with, derived ONCE from the validated
 * gateway config and frozen: what `hello.limits` announces, the session layer's own limits
 * (ring, watermarks, control-frame rate; session-limits.ts) and the rate limits built from
 * them. The ring is sized up when the configured output window needs more than the default
 * (resumeBufferBytes ≥ outputWindowBytes + sourceHighWaterBytes + one PTY read), so a resume
 * is always exact whatever the window.
 */
export interface SessionSettings {
  /** hello.limits, identical for every session of this gateway. */
  readonly hello: SessionLimits;
  readonly layer: SessionLayerLimits;
  /** What the codec enforces on this gateway's connections (from the first frame on). */
  readonly frameLimits: FrameLimits;
  /** A connection with more than this unread in its socket is cut (socketBacklogLimitBytes), bytes. */
  readonly socketBacklogLimitBytes: number;
  /** resize, signal and non-advancing acks. */
  readonly controlLimit: RateLimit;
  /** Stdin written to the process (stdin-acks are paced to it). */
  readonly stdinLimit: RateLimit;
  /** The first frame must arrive within this long of the upgrade, ms. */
  readonly openTimeoutMs: number;
  /** Longest session, ms (config maxSessionLifetimeMs; the policy may shorten it). */
  readonly maxSessionLifetimeMs: number;
  /** Lease renewal period, ms: a third of leaseTtlMs (two retries before it expires). */
  readonly leaseRenewEveryMs: number;
}

export interface SessionSettingsOptions {
  /** Session-layer limits over SESSION_LAYER_DEFAULTS; resumeBufferBytes is raised to what exact resume needs. */
  readonly layer?: Partial<SessionLayerLimits>;
  /**
   * TESTS ONLY: a ring smaller than exact resume needs, so that a resume can find its bytes
   * gone (`resume-truncated`). At least sourceHighWaterBytes + one PTY read, so that output
   * not yet sent is never overwritten while a client is connected.
   */
  readonly lossyResumeBufferBytes?: number;
}

export function sessionSettings(config: GatewayConfig, options: SessionSettingsOptions = {}): SessionSettings {
  const hello: SessionLimits = Object.freeze({
    maxControlFrameBytes: config.maxControlFrameBytes,
    maxDataFrameBytes: config.maxDataFrameBytes,
    outputWindowBytes: config.outputWindowBytes,
    stdinWindowBytes: config.stdinWindowBytes,
    stdinBytesPerSecond: config.stdinBytesPerSecond,
    resumeGraceMs: config.resumeGraceMs,
    idleTimeoutMs: config.idleTimeoutMs,
  });
  const given = { ...SESSION_LAYER_DEFAULTS, ...options.layer };
  const exact: SessionLayerLimits = {
    ...given,
    resumeBufferBytes: Math.max(given.resumeBufferBytes, requiredRingBytes(hello.outputWindowBytes, given.sourceHighWaterBytes)),
  };
  const [problem] = sessionLimitProblems(exact, hello);
  if (problem !== undefined) throw new SandgateError('SG_CONFIG_INVALID', problem, { option: 'session limits' });
  const lossy = options.lossyResumeBufferBytes;
  const liveMinimum = exact.sourceHighWaterBytes + PTY_READ_MAX_BYTES;
  if (lossy !== undefined && (!Number.isSafeInteger(lossy) || lossy < liveMinimum)) {
    throw new RangeError(`lossyResumeBufferBytes must be an integer of at least sourceHighWaterBytes + one PTY read (${liveMinimum}), got ${lossy}`);
  }
  const layer: SessionLayerLimits = Object.freeze(lossy === undefined ? exact : { ...exact, resumeBufferBytes: lossy });
  return Object.freeze({
    hello,
    layer,
    frameLimits: Object.freeze({ maxControlFrameBytes: config.maxControlFrameBytes, maxDataFrameBytes: config.maxDataFrameBytes }),
    socketBacklogLimitBytes: socketBacklogLimitBytes(hello.outputWindowBytes),
    controlLimit: controlFrameLimit(layer),
    stdinLimit: stdinByteLimit(hello, layer),
    openTimeoutMs: config.openTimeoutMs,
    maxSessionLifetimeMs: config.maxSessionLifetimeMs,
    leaseRenewEveryMs: Math.max(1, Math.floor(config.leaseTtlMs / 3)),
  });
}
