import { OUTPUT_HEADER_BYTES } from '../../client-sdk/src/protocol/index.js';
import { SessionError } from './session-error.js';

/**
 * Output flow control of one session, as pure functions over an immutable state (STYLE.md
 * rules 5 and 6): what may be sent, what an ack or a resume does, and when the source (the
 * PTY, or an exec's pipes) must pause or may resume. The session's pump only samples, calls
 * these and applies the answer: send `nextFrameBytes` from the ring, `pause()` or `resume()`.
 *
 * Three offsets on the one output stream (docs/protocol.md, "Flow control"), always
 * acked ≤ sent ≤ produced:
 *
 *   ───acked────────sent──────────produced──▶
 *      │ in flight   │ unsent       │
 *      └ ≤ window ───┘              └ the ring's end offset
 *
 * - sent − acked ≤ outputWindowBytes: the server sends only within the client's window;
 * - the source pauses when unsent ≥ sourceHighWaterBytes and resumes when unsent ≤
 *   sourceLowWaterBytes. A paused PTY is real backpressure: the kernel buffer fills and the
 *   program blocks in write(2).
 *
 * Memory bound. The ring must hold produced − acked, which is below outputWindowBytes +
 * sourceHighWaterBytes + one PTY read (64 KiB): that is `requiredRingBytes`, checked against
 * `resumeBufferBytes` by `sessionLimitProblems`. Per session the gateway then holds at most
 * resumeBufferBytes (+ 1/8 for an exec's channel bitmap) + outputWindowBytes of encoded
 * frames in the socket + 80 KiB in a paused PTY stream + stdinWindowBytes — with the
 * defaults 1.25 + 0.16 + 1 + 0.08 + 0.25 ≈ 2.7 MiB — plus the kernel's PTY buffers
 * (`sessionMemoryBoundBytes`).
 */

export interface OutputFlowLimits {
  /** Output the server may send beyond the client's last ack, bytes (hello.limits). */
  readonly outputWindowBytes: number;
  /** Unsent output at which the source pauses, bytes. */
  readonly sourceHighWaterBytes: number;
  /** Unsent output at or below which a paused source resumes, bytes (< the high mark). */
  readonly sourceLowWaterBytes: number;
}

export interface OutputFlow {
  readonly limits: OutputFlowLimits;
  /** Output produced by the source = the ring's end offset. */
  readonly producedOffset: number;
  /** Output sent on the current (or last) connection = offset of the next output frame. */
  readonly sentOffset: number;
  /** Output the client has acknowledged (an ack, or the offset of a resume). */
  readonly ackedOffset: number;
  /** Whether the source is paused, as last applied with `withSourcePaused`. */
  readonly sourcePaused: boolean;
}

export type FlowResult = { readonly ok: true; readonly flow: OutputFlow } | { readonly ok: false; readonly error: SessionError };

export type ResumeResult =
  | {
      readonly ok: true;
      readonly flow: OutputFlow;
      /** Offset the output continues from: hello.outputOffset. */
      readonly resumedOffset: number;
      /** Bytes between the requested and the resumed offset that had left the ring (0 when exact). */
      readonly lostBytes: number;
    }
  | { readonly ok: false; readonly error: SessionError };

export function createOutputFlow(limits: OutputFlowLimits): OutputFlow {
  const { outputWindowBytes, sourceHighWaterBytes, sourceLowWaterBytes } = limits;
  if (!isCount(outputWindowBytes) || outputWindowBytes < 1) throw new RangeError(`outputWindowBytes must be a positive integer, got ${outputWindowBytes}`);
  if (!isCount(sourceHighWaterBytes) || sourceHighWaterBytes < 1) {
    throw new RangeError(`sourceHighWaterBytes must be a positive integer, got ${sourceHighWaterBytes}`);
  }
  if (!isCount(sourceLowWaterBytes) || sourceLowWaterBytes >= sourceHighWaterBytes) {
    throw new RangeError(`sourceLowWaterBytes (${sourceLowWaterBytes}) must be an integer below sourceHighWaterBytes (${sourceHighWaterBytes})`);
  }
  return { limits: { outputWindowBytes, sourceHighWaterBytes, sourceLowWaterBytes }, producedOffset: 0, sentOffset: 0, ackedOffset: 0, sourcePaused: false };
}

/** Bytes the window still allows: ackedOffset + outputWindowBytes − sentOffset (protocol `outputCredit`). */
export function outputCredit(flow: OutputFlow): number {
  return Math.max(0, flow.ackedOffset + flow.limits.outputWindowBytes - flow.sentOffset);
}

/** Output produced and not yet sent on this connection. */
export function unsentBytes(flow: OutputFlow): number {
  return flow.producedOffset - flow.sentOffset;
}

/** Bytes that may be sent now: within the window, and produced. */
export function sendableBytes(flow: OutputFlow): number {
  return Math.min(outputCredit(flow), unsentBytes(flow));
}

export function canSend(flow: OutputFlow, bytes: number): boolean {
  return isCount(bytes) && bytes >= 1 && bytes <= sendableBytes(flow);
}

/** Payload bytes of the next output frame (0: send nothing now), for frames of at most `maxDataFrameBytes`. */
export function nextFrameBytes(flow: OutputFlow, maxDataFrameBytes: number): number {
  return Math.max(0, Math.min(sendableBytes(flow), maxDataFrameBytes - OUTPUT_HEADER_BYTES));
}

/** Every produced byte has been sent on this connection (with the source ended: `exit` may follow). */
export function isDrained(flow: OutputFlow): boolean {
  return flow.sentOffset === flow.producedOffset;
}

/** The source produced `bytes` more (appended to the ring). */
export function onProduced(flow: OutputFlow, bytes: number): OutputFlow {
  if (!isCount(bytes) || !isCount(flow.producedOffset + bytes)) throw new RangeError(`onProduced: ${bytes} is not a byte count`);
  return bytes === 0 ? flow : flowWith(flow, flow.producedOffset + bytes, flow.sentOffset, flow.ackedOffset, flow.sourcePaused);
}

/** `bytes` were sent. Sending outside `canSend` is the caller's bug, not the client's: it throws. */
export function onSent(flow: OutputFlow, bytes: number): OutputFlow {
  if (!canSend(flow, bytes)) {
    throw new RangeError(`onSent: ${bytes} bytes exceed what may be sent (${sendableBytes(flow)}: credit ${outputCredit(flow)}, unsent ${unsentBytes(flow)})`);
  }
  return flowWith(flow, flow.producedOffset, flow.sentOffset + bytes, flow.ackedOffset, flow.sourcePaused);
}

/**
 * A client `ack`: cumulative, never backwards and never beyond what was sent (protocol
 * "Order rules"); either break is SG_PROTO_OUT_OF_ORDER, as the conversation reducer says.
 * Repeating the last ack is allowed and changes nothing.
 */
export function onAck(flow: OutputFlow, offset: number): FlowResult {
  if (!isCount(offset)) return refuse('SG_PROTO_OUT_OF_ORDER', `ack ${offset} is not an offset`);
  if (offset < flow.ackedOffset) return refuse('SG_PROTO_OUT_OF_ORDER', `ack ${offset} goes back from ${flow.ackedOffset}`);
  if (offset > flow.sentOffset) return refuse('SG_PROTO_OUT_OF_ORDER', `ack ${offset} is beyond the output offset ${flow.sentOffset}`);
  return { ok: true, flow: offset === flow.ackedOffset ? flow : flowWith(flow, flow.producedOffset, flow.sentOffset, offset, flow.sourcePaused) };
}

/**
 * A `resume` asking for output from `requestedOffset` (the bytes the client received, which
 * also acknowledges them), with the ring's oldest byte at `firstAvailableOffset`. The client
 * cannot have received less than it acknowledged nor more than was sent: either is
 * SG_PROTO_OUT_OF_ORDER. The output continues from the requested offset, or from the oldest
 * byte held if it had left the ring (`lostBytes` > 0: the hello is followed by a
 * `resume-truncated` notice). Whatever was sent beyond it on the lost connection is sent again.
 */
export function onResume(flow: OutputFlow, requestedOffset: number, firstAvailableOffset: number): ResumeResult {
  if (!isCount(requestedOffset)) return refuse('SG_PROTO_OUT_OF_ORDER', `resume offset ${requestedOffset} is not an offset`);
  if (requestedOffset < flow.ackedOffset) {
    return refuse('SG_PROTO_OUT_OF_ORDER', `resume at output offset ${requestedOffset} is before the acknowledged ${flow.ackedOffset}`);
  }
  if (requestedOffset > flow.sentOffset) {
    return refuse('SG_PROTO_OUT_OF_ORDER', `resume at output offset ${requestedOffset} is beyond the ${flow.sentOffset} bytes sent`);
  }
  const resumedOffset = Math.min(flow.producedOffset, Math.max(requestedOffset, firstAvailableOffset));
  return { ok: true, flow: flowWith(flow, flow.producedOffset, resumedOffset, resumedOffset, flow.sourcePaused), resumedOffset, lostBytes: resumedOffset - requestedOffset };
}

/** The source runs and unsent output reached the high mark: pause it now, in this tick. */
export function shouldPauseSource(flow: OutputFlow): boolean {
  return !flow.sourcePaused && unsentBytes(flow) >= flow.limits.sourceHighWaterBytes;
}

/** The source is paused and unsent output fell to the low mark: resume it. */
export function shouldResumeSource(flow: OutputFlow): boolean {
  return flow.sourcePaused && unsentBytes(flow) <= flow.limits.sourceLowWaterBytes;
}

/** Records that the shell paused (true) or resumed (false) the source. */
export function withSourcePaused(flow: OutputFlow, paused: boolean): OutputFlow {
  return flow.sourcePaused === paused ? flow : flowWith(flow, flow.producedOffset, flow.sentOffset, flow.ackedOffset, paused);
}

/**
 * A flow built as one literal, so that every OutputFlow has one hidden class: these run for
 * every output chunk and a spread of flows made in different places takes V8's slow clone
 * path (perf on the gateway bench).
 */
function flowWith(flow: OutputFlow, producedOffset: number, sentOffset: number, ackedOffset: number, sourcePaused: boolean): OutputFlow {
  return { limits: flow.limits, producedOffset, sentOffset, ackedOffset, sourcePaused };
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function refuse(code: 'SG_PROTO_OUT_OF_ORDER', message: string): { readonly ok: false; readonly error: SessionError } {
  return { ok: false, error: new SessionError(code, message) };
}
