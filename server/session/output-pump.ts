import { OUTPUT_HEADER_BYTES, type OutputChannel, type OutputFrame } from '../../client-sdk/src/protocol/index.js';
import {
  createOutputFlow, isDrained, nextFrameBytes, onAck, onProduced, onResume, onSent, outputCredit, shouldPauseSource, shouldResumeSource,
  withSourcePaused, type OutputFlow, type OutputFlowLimits, type ResumeResult,
} from './flow-window.js';
import { OutputRing, type RingRead } from './output-ring.js';
import type { SessionError } from './session-error.js';

/**
 * The output path of one session, the thin shell around output-ring.ts and flow-window.ts:
 *
 *   source bytes ─▶ ring.append ─▶ (window allows) ─▶ output frames ─▶ connection
 *                        └─ unsent ≥ high mark: pause the source; ≤ low mark: resume it
 *
 * Every decision is flow-window.ts's; this class samples, calls and applies. It knows nothing
 * of connections: `pump(send)` is called by the session whenever a client is there to send to
 * (after hello, on an ack, on new output), and sends nothing otherwise, so a detached session
 * keeps producing into the ring until the high mark pauses its source.
 */

/**
 * Output ready to go out: an output frame but for its stdin acknowledgement, which the session
 * adds as it sends (live-session.ts), since the pump knows nothing of stdin.
 */
export type OutputChunk = Omit<OutputFrame, 'stdinAck'>;

export interface SourceControl {
  pause(): void;
  resume(): void;
}

export interface OutputPumpOptions extends OutputFlowLimits {
  /** Ring capacity, bytes (resumeBufferBytes; at least requiredRingBytes of the limits). */
  readonly resumeBufferBytes: number;
  /** Largest binary frame, header included, bytes (hello.limits.maxDataFrameBytes). */
  readonly maxDataFrameBytes: number;
}

export class OutputPump {
  readonly #ring: OutputRing;
  readonly #maxDataFrameBytes: number;
  #flow: OutputFlow;
  #source: SourceControl | undefined;

  constructor(options: OutputPumpOptions) {
    this.#ring = new OutputRing({ capacityBytes: options.resumeBufferBytes });
    this.#flow = createOutputFlow(options);
    this.#maxDataFrameBytes = options.maxDataFrameBytes;
  }

  /** The source to pause and resume (known once the sandbox runs). */
  attachSource(source: SourceControl): void {
    this.#source = source;
    this.#controlSource();
  }

  /** Total output so far = the offset of the next byte produced. */
  get producedOffset(): number {
    return this.#flow.producedOffset;
  }

  /** Offset of the next output frame on the current connection. */
  get sentOffset(): number {
    return this.#flow.sentOffset;
  }

  get ackedOffset(): number {
    return this.#flow.ackedOffset;
  }

  /** Every byte produced was sent on the current connection. */
  get drained(): boolean {
    return isDrained(this.#flow);
  }

  get sourcePaused(): boolean {
    return this.#flow.sourcePaused;
  }

  /** Bytes held by the ring now (at most its capacity). */
  get heldBytes(): number {
    return this.#ring.heldBytes;
  }

  /** Offset of the oldest byte the ring still holds. */
  get heldFromOffset(): number {
    return this.#ring.startOffset;
  }

  /**
   * Up to `maxBytes` held bytes of one channel from `offset` (≤ producedOffset), for readers
   * other than the session's own connection (viewers): reading moves no window and no mark.
   */
  readHeld(offset: number, maxBytes: number): RingRead {
    return this.#ring.read(offset, maxBytes);
  }

  /**
   * The source wrote `bytes` (copied into the ring). With `send` (a client is attached) and no
   * older output unsent, bytes that the window and one frame can take are sent first, from the
   * source's own buffer, and recorded after: cut-through, so that a keystroke's echo reaches
   * the socket before the ring copy and the flow bookkeeping (about 4 µs of the gateway's
   * out-path, measured with the gateway bench). Anything else waits for `pump`.
   */
  produce(channel: OutputChannel, bytes: Uint8Array, send?: (chunk: OutputChunk) => void): void {
    const length = bytes.byteLength;
    if (length === 0) return;
    const cutThrough = send !== undefined && isDrained(this.#flow) && length <= outputCredit(this.#flow) && length <= this.#maxDataFrameBytes - OUTPUT_HEADER_BYTES;
    if (cutThrough) send({ type: 'output', channel, offset: this.#flow.producedOffset, data: bytes });
    this.#ring.append(channel, bytes);
    this.#flow = onProduced(this.#flow, length);
    if (cutThrough) this.#flow = onSent(this.#flow, length);
    this.#controlSource();
  }

  /** Sends, through `send`, every frame the client's window allows now. Returns the bytes sent. */
  pump(send: (chunk: OutputChunk) => void): number {
    let total = 0;
    for (;;) {
      const want = nextFrameBytes(this.#flow, this.#maxDataFrameBytes);
      if (want === 0) break;
      const read = this.#ring.read(this.#flow.sentOffset, want);
      // sentOffset ≥ ackedOffset, and the ring holds everything from the ack on (flow-window.ts).
      if (read.kind !== 'data') throw new RangeError(`output ring has no data at the sent offset ${this.#flow.sentOffset} (${read.kind})`);
      const bytes = read.data.byteLength;
      send({ type: 'output', channel: read.channel, offset: read.offset, data: read.data });
      this.#flow = onSent(this.#flow, bytes);
      total += bytes;
    }
    this.#controlSource();
    return total;
  }

  /** A client `ack`; a SessionError (SG_PROTO_OUT_OF_ORDER) when it breaks the order rules. */
  ack(offset: number): { readonly advanced: boolean } | SessionError {
    const result = onAck(this.#flow, offset);
    if (!result.ok) return result.error;
    const advanced = result.flow.ackedOffset !== this.#flow.ackedOffset;
    this.#flow = result.flow;
    return { advanced };
  }

  /** What a resume from `requestedOffset` would do, without doing it (check before spending the token). */
  planResume(requestedOffset: number): ResumeResult {
    return onResume(this.#flow, requestedOffset, this.#ring.startOffset);
  }

  /** Applies a planned resume: the output continues from its resumedOffset. */
  applyResume(plan: Extract<ResumeResult, { ok: true }>): void {
    this.#flow = plan.flow;
    this.#controlSource();
  }

  #controlSource(): void {
    const source = this.#source;
    if (source === undefined) return;
    if (shouldPauseSource(this.#flow)) {
      source.pause();
      this.#flow = withSourcePaused(this.#flow, true);
    } else if (shouldResumeSource(this.#flow)) {
      source.resume();
      this.#flow = withSourcePaused(this.#flow, false);
    }
  }
}
