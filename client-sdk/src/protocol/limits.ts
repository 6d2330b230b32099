import type { SessionLimits } from './frames.js';

/**
 * The bounds of protocol v1: ceilings no session may raise and the ranges of every field. The
 * codec enforces them on both encode and decode; hello announces the session's own (lower or
 * equal) frame and window limits. Each name carries its unit.
 */
export const PROTOCOL_LIMITS = {
  /** Ceiling of SessionLimits.maxControlFrameBytes; an open frame with argv and env fits. */
  maxControlFrameBytes: 64 * 1024,
  /** Ceiling of SessionLimits.maxDataFrameBytes (header included). */
  maxDataFrameBytes: 1024 * 1024,
  /** Floor of SessionLimits.maxDataFrameBytes and of both windows. */
  minFrameOrWindowBytes: 1024,
  /** Ceiling of both windows. */
  maxWindowBytes: 256 * 1024 * 1024,
  /** Terminal size, character cells. */
  cols: { min: 1, max: 1000 },
  rows: { min: 1, max: 1000 },
  /** Every offset and byte count: an integer a JavaScript number holds exactly (2^53 − 1). */
  maxOffset: Number.MAX_SAFE_INTEGER,
  argvMaxItems: 1024,
  argMaxBytes: 32 * 1024,
  envMaxEntries: 1024,
  envNameMaxBytes: 255,
  envValueMaxBytes: 32 * 1024,
  /** PATH_MAX. */
  cwdMaxBytes: 4096,
  /** sessionId: `[A-Za-z0-9_-]`, this many characters. */
  sessionIdChars: { min: 8, max: 64 },
  /** resumeToken: base64url (`[A-Za-z0-9_-]`), this many characters. */
  resumeTokenChars: { min: 22, max: 512 },
  /** Human-readable messages in error and notice frames. */
  messageMaxBytes: 1024,
  errorCodeMaxBytes: 64,
  /** Exit status of a process. */
  exitCode: { min: 0, max: 255 },
  /** graceMs, resumeGraceMs, idleTimeoutMs: at most a day, ms. */
  maxDurationMs: 24 * 3600 * 1000,
  /** stdinBytesPerSecond ceiling (0 = unlimited). */
  maxStdinBytesPerSecond: 1024 * 1024 * 1024,
} as const;

/** The two limits the codec itself enforces; hello's SessionLimits is a valid FrameLimits. */
export interface FrameLimits {
  readonly maxControlFrameBytes: number;
  readonly maxDataFrameBytes: number;
}

/** What the codec enforces before a hello has announced the session's limits. */
export const CEILING_FRAME_LIMITS: FrameLimits = Object.freeze({
  maxControlFrameBytes: PROTOCOL_LIMITS.maxControlFrameBytes,
  maxDataFrameBytes: PROTOCOL_LIMITS.maxDataFrameBytes,
});

/**
 * Suggested session limits for a gateway's config defaults. 64 KiB data frames keep a keystroke
 * from queueing behind a large chunk; a 1 MiB window covers about 100 ms of a fast flood at
 * 10 MB/s, so a healthy client never stalls the PTY and a stalled one costs at most 1 MiB.
 */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  maxControlFrameBytes: 64 * 1024,
  maxDataFrameBytes: 64 * 1024,
  outputWindowBytes: 1024 * 1024,
  stdinWindowBytes: 256 * 1024,
  stdinBytesPerSecond: 0,
  resumeGraceMs: 60_000,
  /** 30 min: a forgotten browser tab does not hold a sandbox for the whole session lifetime. */
  idleTimeoutMs: 30 * 60_000,
});
