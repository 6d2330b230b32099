import {
  OUTPUT_HEADER_BYTES, outputCredit, type AttachFrame, type ExitFrame, type NoticeFrame, type SessionKind, type SessionLimits,
} from '../../client-sdk/src/protocol/index.js';
import { createBucket, take, type RateLimit, type TokenBucket } from './input-limiter.js';
import type { RequestLog } from '../http/request-log.js';
import type { RingRead } from './output-ring.js';
import type { SessionConnection } from './session-connection.js';
import { SessionError } from './session-error.js';

/**
 * The viewers of one session (docs/protocol.md, "Viewers"): connections that attached to
 * watch it, read-only. Each reads the session's output ring at its own offset, within its own
 * window; none of them pauses the session's source (only the owner's window does), so a slow
 * viewer costs the session and its owner nothing. A viewer that falls further behind than the
 * ring reaches is told SG_VIEWER_BEHIND and closed (it may attach again). Viewers get the
 * session's notices and, once the process status and the end of its output are known, `exit`
 * after their last byte; then their connections close.
 *
 * The conversation reducer (client-sdk) already keeps a viewer to acks and keeps every frame
 * sent to it in order: its offset and window are `connection.conversation`'s, so this class
 * keeps no position of its own.
 */

/** What viewers read: the session's output ring (OutputPump). */
export interface ViewedOutput {
  /** Offset of the oldest byte held. */
  readonly heldFromOffset: number;
  /** Total output so far. */
  readonly producedOffset: number;
  readHeld(offset: number, maxBytes: number): RingRead;
}

export interface SessionViewersOptions {
  readonly sessionId: string;
  readonly kind: SessionKind;
  /** What `attached` announces (the session's own limits). */
  readonly limits: SessionLimits;
  readonly maxViewers: number;
  /** Ring capacity, for messages. */
  readonly resumeBufferBytes: number;
  readonly output: ViewedOutput;
  /** Acks that do not advance count against this, per viewer, as the owner's do (input-limiter.ts). */
  readonly controlLimit: RateLimit;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  /** Where a bug in a viewer's path is reported (it ends that viewer, never the session). */
  readonly log: RequestLog;
  /** Once a session has ended, how long a viewer gets to take the rest of its output, ms. */
  readonly finishMs?: number;
}

interface Viewer {
  /** Output acknowledged so far: an ack at the same offset is a repeat, and rate-limited. */
  acked: number;
  repeats: TokenBucket;
}

/** After the session ends, a viewer that has not taken the rest of its output by then is closed. */
export const VIEWER_FINISH_MS = 10_000;

export class SessionViewers {
  readonly #options: SessionViewersOptions;
  readonly #viewers = new Map<SessionConnection, Viewer>();
  #exit: ExitFrame | undefined;
  #finishTimer: NodeJS.Timeout | undefined;
  #released = false;

  constructor(options: SessionViewersOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#viewers.size;
  }

  /**
   * Makes `connection` (whose first frame was `frame`) a viewer: `attached` from the requested
   * offset (the oldest byte held when absent or gone, with a resume-truncated notice when
   * gone; the end of the output when beyond it), then what its window allows. A refusal is
   * returned for the caller to fail the connection with. The session calls it only while it
   * is not being released (LiveSession.attach), so no viewer arrives after release().
   */
  add(connection: SessionConnection, frame: AttachFrame): SessionError | undefined {
    if (this.#openViewers() >= this.#options.maxViewers) {
      return new SessionError('SG_VIEWER_LIMIT', `The session has ${this.#options.maxViewers} viewers (maxViewersPerSession); attach again when one has left.`);
    }
    const { heldFromOffset, producedOffset } = this.#options.output;
    const requested = frame.outputOffset ?? heldFromOffset;
    const start = Math.min(Math.max(requested, heldFromOffset), producedOffset);
    const sent = connection.send({ type: 'attached', sessionId: this.#options.sessionId, kind: this.#options.kind, outputOffset: start, limits: this.#options.limits });
    if (!sent) return undefined;
    if (requested < start) {
      connection.send({
        type: 'notice',
        kind: 'resume-truncated',
        requestedOffset: requested,
        resumedOffset: start,
        message: `${start - requested} output bytes had left the session's buffer (resumeBufferBytes ${this.#options.resumeBufferBytes}).`,
      });
    }
    const viewer: Viewer = { acked: start, repeats: createBucket(this.#options.controlLimit, this.#options.now()) };
    this.#viewers.set(connection, viewer);
    connection.bind({
      // Only acks get here (the reducer refuses a viewer anything else): they open the window.
      frame: () => this.#acked(connection, viewer),
      closed: () => this.#remove(connection),
    });
    this.#pumpSafely(connection);
    return undefined;
  }

  /** New output, or an ack: sends every viewer what its window allows. */
  pump(): void {
    for (const connection of this.#viewers.keys()) this.#pumpSafely(connection);
  }

  /** Sends `notice` to every viewer (the gateway is shutting down, say). */
  notify(notice: NoticeFrame): void {
    for (const connection of this.#viewers.keys()) connection.send(notice);
  }

  /** The process's status and the end of its output are known: each viewer gets `exit` after its last byte. */
  finish(exit: ExitFrame): void {
    if (this.#exit !== undefined) return;
    this.#exit = exit;
    this.pump();
  }

  /**
   * The session is released. At a shutdown (1001) every viewer is closed at once (it had the
   * shutting-down notice); without an exit (the session could not start, or was abandoned and
   * killed) it gets SG_SESSION_ENDED; after an exit, viewers still taking their output get
   * finishMs, then are closed with SG_VIEWER_BEHIND.
   */
  release(closeWith: { readonly code: number; readonly reason: string }): void {
    if (this.#released) return;
    this.#released = true;
    if (closeWith.code === 1001) {
      for (const connection of [...this.#viewers.keys()]) connection.close(closeWith.code, closeWith.reason);
      this.#viewers.clear();
      return;
    }
    if (this.#exit === undefined) {
      for (const connection of [...this.#viewers.keys()]) connection.fail('SG_SESSION_ENDED', 'The session ended without an exit status (it could not start, or its owner never came back); there is nothing more to watch.');
      this.#viewers.clear();
      return;
    }
    if (this.#viewers.size === 0) return;
    this.#finishTimer = setTimeout(() => {
      for (const connection of [...this.#viewers.keys()]) {
        connection.fail('SG_VIEWER_BEHIND', `The session ended and this viewer did not take the rest of its output within ${this.#options.finishMs ?? VIEWER_FINISH_MS} ms.`);
      }
      this.#viewers.clear();
    }, this.#options.finishMs ?? VIEWER_FINISH_MS);
  }

  #acked(connection: SessionConnection, viewer: Viewer): void {
    const acked = connection.conversation.outputAcked;
    if (acked === viewer.acked) {
      const decision = take(this.#options.controlLimit, viewer.repeats, 1, this.#options.now());
      viewer.repeats = decision.bucket;
      if (decision.kind === 'refuse') {
        const { perSecond, burst } = this.#options.controlLimit;
        connection.refuse('SG_INPUT_RATE', `ack refused: a repeated ack counts against controlFramesPerSecond ${perSecond} (burst ${burst}); retry after ${decision.retryAfterMs} ms.`);
      }
      return;
    }
    viewer.acked = acked;
    this.#pumpSafely(connection);
  }

  /** Connections that can still take frames (one that broke a rule is closing, and counts no more). */
  #openViewers(): number {
    let open = 0;
    for (const connection of this.#viewers.keys()) if (connection.isOpen) open += 1;
    return open;
  }

  /** A throw here is a bug of the viewer path: it ends that viewer (1011), never the session it watches. */
  #pumpSafely(connection: SessionConnection): void {
    try {
      this.#pump(connection);
    } catch (error) {
      this.#options.log({ event: 'session.viewer-failed', level: 'error', sessionId: this.#options.sessionId, error: error instanceof Error ? error.message : 'unknown' });
      connection.close(1011, 'internal error');
      this.#remove(connection);
    }
  }

  #remove(connection: SessionConnection): void {
    this.#viewers.delete(connection);
    if (this.#viewers.size === 0 && this.#finishTimer !== undefined) {
      clearTimeout(this.#finishTimer);
      this.#finishTimer = undefined;
    }
  }

  #pump(connection: SessionConnection): void {
    const output = this.#options.output;
    const maxData = this.#options.limits.maxDataFrameBytes - OUTPUT_HEADER_BYTES;
    for (;;) {
      const conversation = connection.conversation;
      if (conversation.phase !== 'running' || !connection.isOpen) return;
      const next = conversation.outputOffset;
      if (next === output.producedOffset) {
        if (this.#exit !== undefined && this.#exit.outputOffset === next) {
          connection.send(this.#exit);
          connection.end();
          this.#remove(connection);
        }
        return;
      }
      // Checked before the window: a viewer with no credit left is the one that falls behind.
      if (next < output.heldFromOffset) {
        connection.fail('SG_VIEWER_BEHIND', `This viewer fell more than resumeBufferBytes (${this.#options.resumeBufferBytes}) behind the session's output; attach again to continue from offset ${output.heldFromOffset}.`);
        this.#remove(connection);
        return;
      }
      const credit = outputCredit(conversation);
      if (credit === 0) return;
      const read = output.readHeld(next, Math.min(credit, maxData));
      if (read.kind !== 'data') return;
      // stdinAck 0: a viewer sends no stdin, so there is nothing to acknowledge to it.
      connection.send({ type: 'output', channel: read.channel, offset: read.offset, stdinAck: 0, data: read.data });
    }
  }
}
