import type { SessionLimits } from '../../client-sdk/src/protocol/index.js';
import type { SessionLayerLimits } from './session-limits.js';

/**
 * Input rate limits as a pure token bucket (STYLE.md rule 6): the state is two numbers, the
 * clock is an argument, and the answer is allow or refuse-with-retry. Two uses per session:
 *
 * - control frames that make the gateway act (`resize` → TIOCSWINSZ, `signal` → kill(2)):
 *   `controlFramesPerSecond` sustained, `controlBurstFrames` at once; a refused frame is
 *   answered with SG_INPUT_RATE and its retry time. An `ack` that does not advance counts as
 *   one too (a client can otherwise send them without bound); an advancing ack or a
 *   stdin-close is bounded by the offsets it must move.
 * - stdin bytes written to the process: `stdinBytesPerSecond` (0 = unlimited), bursts of
 *   `stdinBurstBytes`. The protocol makes this a pacing of `stdin-ack`s, not a refusal
 *   (docs/protocol.md, "Flow control"): `takeUpTo` says how much to write now and when to
 *   look again.
 *
 * Credit is kept in thousandths of a token so that refilling at `perSecond` tokens per
 * second adds exactly `perSecond` per millisecond: integer arithmetic, no drift, and a retry
 * time after which the same request is certain to pass. A request larger than the burst is
 * allowed on a full bucket and leaves it in debt, so the long-run rate holds for any size.
 */

export interface RateLimit {
  /** Sustained rate, units per second; 0 = unlimited. */
  readonly perSecond: number;
  /** Units accepted at once on a full bucket, ≥ 1. */
  readonly burst: number;
}

export interface TokenBucket {
  /** Credit in thousandths of a unit; negative after an oversized request. */
  readonly milliTokens: number;
  /** Clock reading (ms) at which milliTokens was computed. */
  readonly updatedAtMs: number;
}

export type RateDecision =
  | { readonly kind: 'allow'; readonly bucket: TokenBucket }
  | { readonly kind: 'refuse'; readonly retryAfterMs: number; readonly bucket: TokenBucket };

export interface PacedGrant {
  /** Units that may go now (0..asked). */
  readonly granted: number;
  /** When granted < asked: ms until at least one more unit may go; else 0. */
  readonly retryAfterMs: number;
  readonly bucket: TokenBucket;
}

const MILLI = 1000;

export function controlFrameLimit(layer: Pick<SessionLayerLimits, 'controlFramesPerSecond' | 'controlBurstFrames'>): RateLimit {
  return checkedLimit({ perSecond: layer.controlFramesPerSecond, burst: layer.controlBurstFrames });
}

export function stdinByteLimit(session: Pick<SessionLimits, 'stdinBytesPerSecond'>, layer: Pick<SessionLayerLimits, 'stdinBurstBytes'>): RateLimit {
  return checkedLimit({ perSecond: session.stdinBytesPerSecond, burst: layer.stdinBurstBytes });
}

/** A full bucket at `nowMs`. */
export function createBucket(limit: RateLimit, nowMs: number): TokenBucket {
  return { milliTokens: checkedLimit(limit).burst * MILLI, updatedAtMs: Math.floor(nowMs) };
}

/** Takes `amount` (≥ 1) units at once, or none. */
export function take(limit: RateLimit, bucket: TokenBucket, amount: number, nowMs: number): RateDecision {
  if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError(`take: amount must be a positive integer, got ${amount}`);
  if (limit.perSecond === 0) return { kind: 'allow', bucket };
  const current = refill(limit, bucket, nowMs);
  // An oversized request needs a full bucket, not more than the bucket can ever hold.
  const needed = Math.min(amount, limit.burst) * MILLI;
  if (current.milliTokens < needed) return { kind: 'refuse', retryAfterMs: msUntil(limit, current, needed), bucket: current };
  return { kind: 'allow', bucket: { ...current, milliTokens: current.milliTokens - amount * MILLI } };
}

/** Takes as many of `asked` units as the bucket holds now (pacing). */
export function takeUpTo(limit: RateLimit, bucket: TokenBucket, asked: number, nowMs: number): PacedGrant {
  if (!Number.isSafeInteger(asked) || asked < 0) throw new RangeError(`takeUpTo: asked must be an integer of 0 or more, got ${asked}`);
  if (limit.perSecond === 0) return { granted: asked, retryAfterMs: 0, bucket };
  const current = refill(limit, bucket, nowMs);
  const granted = Math.min(asked, Math.max(0, Math.floor(current.milliTokens / MILLI)));
  const after: TokenBucket = { ...current, milliTokens: current.milliTokens - granted * MILLI };
  return { granted, retryAfterMs: granted < asked ? msUntil(limit, after, MILLI) : 0, bucket: after };
}

/** The bucket at `nowMs`. A clock that went back refills nothing (and moves nothing back). */
function refill(limit: RateLimit, bucket: TokenBucket, nowMs: number): TokenBucket {
  const now = Math.floor(nowMs);
  if (!Number.isSafeInteger(now)) throw new RangeError(`rate limiter: clock reading ${nowMs} is not a finite time in ms`);
  const full = limit.burst * MILLI;
  if (now <= bucket.updatedAtMs) return bucket;
  // Bound the elapsed time by what fills the bucket, so the product stays exact.
  const elapsed = Math.min(now - bucket.updatedAtMs, Math.ceil((full - bucket.milliTokens) / limit.perSecond));
  return { milliTokens: Math.min(full, bucket.milliTokens + elapsed * limit.perSecond), updatedAtMs: now };
}

function msUntil(limit: RateLimit, bucket: TokenBucket, neededMilliTokens: number): number {
  return Math.ceil((neededMilliTokens - bucket.milliTokens) / limit.perSecond);
}

function checkedLimit(limit: RateLimit): RateLimit {
  if (!Number.isSafeInteger(limit.perSecond) || limit.perSecond < 0 || limit.perSecond > 2 ** 40) {
    throw new RangeError(`rate limit: perSecond must be an integer in 0..2^40 (0 = unlimited), got ${limit.perSecond}`);
  }
  if (!Number.isSafeInteger(limit.burst) || limit.burst < 1 || limit.burst > 2 ** 40) {
    throw new RangeError(`rate limit: burst must be an integer in 1..2^40, got ${limit.burst}`);
  }
  return limit;
}
