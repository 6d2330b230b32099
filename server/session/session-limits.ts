import { DEFAULT_SESSION_LIMITS, PROTOCOL_LIMITS, type SessionLimits } from '../../client-sdk/src/protocol/index.js';

/**
 * The session layer's own named limits, each with its unit, in one defaults object (the
 * ioredis habit). The limits a client sees (`outputWindowBytes`, `stdinWindowBytes`,
 * `stdinBytesPerSecond`, `resumeGraceMs`) are the protocol's `SessionLimits` and keep their
 * defaults in DEFAULT_SESSION_LIMITS; session counts are the quota policy's
 * (`maxSessionsPerTenant`, `maxSessionsPerUser`, config/gateway-config.ts). The config
 * module combines them, validates them once with `sessionLimitProblems` and freezes them.
 */
export interface SessionLayerLimits {
  /**
   * Capacity of a session's output ring, bytes: output sent but not yet acknowledged (kept
   * for an exact resume) plus output not yet sent. Must hold
   * `outputWindowBytes + sourceHighWaterBytes + PTY_READ_MAX_BYTES` (see requiredRingBytes).
   */
  readonly resumeBufferBytes: number;
  /** Unsent output at which the PTY (or the exec pipes) is paused, bytes. */
  readonly sourceHighWaterBytes: number;
  /** Unsent output at or below which a paused source resumes, bytes; below the high mark. */
  readonly sourceLowWaterBytes: number;
  /** Sustained rate of control frames that make the gateway act (resize, signal), frames/s. */
  readonly controlFramesPerSecond: number;
  /** Control frames accepted in a burst above that rate, frames. */
  readonly controlBurstFrames: number;
  /** Stdin written to the process in a burst above `stdinBytesPerSecond`, bytes. */
  readonly stdinBurstBytes: number;
  /** Connections watching one session at once (`attach`, docs/protocol.md "Viewers"). */
  readonly maxViewersPerSession: number;
  /** Connections one user may have watching sessions at once, across the tenant's sessions. */
  readonly maxViewersPerUser: number;
}

/**
 * The most a PTY delivers per 'data' event, bytes: node-pty reads the master through a
 * `tty.ReadStream`, and libuv's uv__read asks for 64 KiB buffers (src/unix/stream.c). Once
 * the session calls `pause()` inside that event, no further event arrives until `resume()`;
 * what the kernel still holds stays there and blocks the writer (pty(7)).
 */
export const PTY_READ_MAX_BYTES = 64 * 1024;

const KiB = 1024;

/**
 * Defaults. The watermarks let a bursty program (a compiler, `ls -R`) run ahead of a slow
 * client by 192 KiB before it blocks, and resume once 64 KiB are left, so a pause/resume pair
 * moves at least 128 KiB. The ring then holds exactly what exact resume needs with the
 * default 1 MiB window: 1024 + 192 + 64 KiB = 1.25 MiB. Twenty control frames a second covers
 * a window being dragged (xterm.js fit, debounced); 40 in a burst absorbs a reconnect.
 */
export const SESSION_LAYER_DEFAULTS: SessionLayerLimits = Object.freeze({
  resumeBufferBytes: 1280 * KiB,
  sourceHighWaterBytes: 192 * KiB,
  sourceLowWaterBytes: 64 * KiB,
  controlFramesPerSecond: 20,
  controlBurstFrames: 40,
  stdinBurstBytes: 64 * KiB,
  // A pair or a small class watching one terminal; each costs a connection and at most one
  // output window in flight, never ring memory of its own.
  maxViewersPerSession: 8,
  maxViewersPerUser: 16,
});

/**
 * Frames a connection may leave unread in its socket (ws's bufferedAmount: written by the
 * gateway, not yet taken by the kernel), bytes. An honest client has at most its output
 * window unacknowledged, and the kernel's socket buffers (megabytes) sit in front of this
 * queue; what grows past the window and a megabyte of frame headers, notices and stdin-acks
 * was acknowledged without being read, or is addressed to a client that stopped reading. The
 * connection is then cut (the session waits for a resume): session-connection.ts.
 */
export function socketBacklogLimitBytes(outputWindowBytes: number): number {
  return outputWindowBytes + 1024 * KiB;
}

/**
 * Smallest ring that never drops a byte the client may still need, bytes. Unacknowledged
 * output is at most the window; unsent output stays below the high mark until the one read
 * that crosses it, after which the source is paused. So the ring must hold the window, the
 * high mark and one read.
 */
export function requiredRingBytes(outputWindowBytes: number, sourceHighWaterBytes: number): number {
  return outputWindowBytes + sourceHighWaterBytes + PTY_READ_MAX_BYTES;
}

/**
 * Per-session gateway memory for output and input at most, bytes (docs/protocol.md, "Flow
 * control"): the ring, its stderr bitmap (exec only), the encoded frames sent and not yet
 * flushed by the socket (at most socketBacklogLimitBytes), what a paused PTY stream may hold (Node's
 * readable buffer of 16 KiB plus one read), and stdin the client may send before a stdin-ack.
 * The kernel's own PTY buffers (a 4 KiB line discipline buffer and up to 64 KiB of tty flip
 * buffers, drivers/tty/tty_buffer.c) come on top and are kernel memory.
 */
export function sessionMemoryBoundBytes(layer: SessionLayerLimits, session: SessionLimits): number {
  const streamBufferBytes = 16 * KiB + PTY_READ_MAX_BYTES;
  return layer.resumeBufferBytes + Math.ceil(layer.resumeBufferBytes / 8) + socketBacklogLimitBytes(session.outputWindowBytes) + streamBufferBytes + session.stdinWindowBytes;
}

/**
 * What is wrong with a combination of limits, one sentence per problem naming the options
 * (empty when valid). Integers and positive counts are checked here; the SessionLimits
 * ranges are the protocol's (hello would refuse them).
 */
export function sessionLimitProblems(layer: SessionLayerLimits, session: SessionLimits = DEFAULT_SESSION_LIMITS): string[] {
  const problems: string[] = [];
  const positive: ReadonlyArray<keyof SessionLayerLimits> = [
    'resumeBufferBytes',
    'sourceHighWaterBytes',
    'controlFramesPerSecond',
    'controlBurstFrames',
    'stdinBurstBytes',
    'maxViewersPerSession',
    'maxViewersPerUser',
  ];
  for (const name of positive) {
    const value = layer[name];
    if (!Number.isSafeInteger(value) || value < 1) problems.push(`${name} must be a positive integer, got ${value}.`);
  }
  if (!Number.isSafeInteger(layer.sourceLowWaterBytes) || layer.sourceLowWaterBytes < 0) {
    problems.push(`sourceLowWaterBytes must be an integer of 0 or more, got ${layer.sourceLowWaterBytes}.`);
  }
  if (layer.sourceLowWaterBytes >= layer.sourceHighWaterBytes) {
    problems.push(`sourceLowWaterBytes (${layer.sourceLowWaterBytes}) must be below sourceHighWaterBytes (${layer.sourceHighWaterBytes}).`);
  }
  const required = requiredRingBytes(session.outputWindowBytes, layer.sourceHighWaterBytes);
  if (layer.resumeBufferBytes < required) {
    problems.push(
      `resumeBufferBytes (${layer.resumeBufferBytes}) must be at least outputWindowBytes (${session.outputWindowBytes}) + ` +
        `sourceHighWaterBytes (${layer.sourceHighWaterBytes}) + one PTY read (${PTY_READ_MAX_BYTES}) = ${required}, ` +
        'or a resume could lose output the client never received.',
    );
  }
  if (layer.resumeBufferBytes > PROTOCOL_LIMITS.maxWindowBytes * 2) {
    problems.push(`resumeBufferBytes (${layer.resumeBufferBytes}) is above ${PROTOCOL_LIMITS.maxWindowBytes * 2}, twice the largest window.`);
  }
  return problems;
}
