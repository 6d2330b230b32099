import type { WebSocket } from 'ws';

import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import {
  CLOSE_CODES, advance, closeFor, decodeClientFrame, encodeServerFrame, startConversation, toWireMessage,
  type ClientFrame, type Conversation, type FrameLimits, type ServerFrame,
} from '../../client-sdk/src/protocol/index.js';
import type { RequestLog } from '../http/request-log.js';

/**
 * One WebSocket as the session layer sees it: a stream of valid, in-order client frames and a
 * way to send valid server frames. Everything untrusted stops here:
 *
 *   message ─▶ decodeClientFrame (codec: size, UTF-8, JSON, fields) ─▶ advance (order rules,
 *   offsets, windows) ─▶ handler.frame(frame)
 *
 * A message that fails either step ends the connection with an `error {fatal}` frame and the
 * code's close code (docs/protocol.md, "Errors and closes"); it never reaches the session and
 * never throws into ws. Server frames go through `advance` too, so the gateway cannot put a
 * frame on the wire that breaks the order rules (a bug is logged and the connection closed
 * with 1011 instead).
 *
 * Whoever owns the connection sets its handler: the session host until the first frame, then
 * the session. Liveness (ping/pong) is the http step's ConnectionTracker.
 *
 * Flow control bounds what a client has been sent and not acknowledged, not what it has read:
 * a client that acknowledges output it never read, or stops reading while it still sends
 * stdin, would have the gateway queue frames for it without end. So a send that leaves more
 * than `backlogLimitBytes` unread in the socket cuts the connection at once (no close
 * handshake: it would queue behind the backlog), as Redis does with its client output buffer
 * limit; the session itself waits for a resume.
 */

export interface ConnectionHandler {
  /** A client frame that passed the codec and the order rules. */
  readonly frame: (frame: ClientFrame) => void;
  /** The WebSocket closed (either side, any reason). Called once. */
  readonly closed: () => void;
}

/** ws's close code for an unexpected condition (RFC 6455 §7.4.1). */
const INTERNAL_ERROR_CLOSE = 1011;

export class SessionConnection {
  readonly #ws: WebSocket;
  readonly #limits: FrameLimits;
  readonly #backlogLimitBytes: number;
  readonly #log: RequestLog;
  readonly #closeListeners: (() => void)[] = [];
  #handler: ConnectionHandler | undefined;
  #conversation: Conversation = startConversation();
  #closing = false;
  #closed = false;

  constructor(ws: WebSocket, limits: FrameLimits, backlogLimitBytes: number, log: RequestLog) {
    this.#ws = ws;
    this.#limits = limits;
    this.#backlogLimitBytes = backlogLimitBytes;
    this.#log = log;
    ws.binaryType = 'nodebuffer';
    // ws emits 'error' for a peer's protocol violation before closing; without a listener an
    // EventEmitter 'error' would throw. (The http step's tracker adds one too.)
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => this.#receive(data, isBinary));
    ws.once('close', () => {
      this.#closed = true;
      this.#closing = true;
      this.#handler?.closed();
      for (const listener of this.#closeListeners.splice(0)) listener();
    });
  }

  /** Calls `listener` once the WebSocket has closed (at once if it has), besides the handler. */
  onceClosed(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  /** Routes frames and the close to `handler` from now on. */
  bind(handler: ConnectionHandler): void {
    this.#handler = handler;
    if (this.#closed) handler.closed();
  }

  /** The order-rule state: phase, offsets and windows as this connection has seen them. */
  get conversation(): Conversation {
    return this.#conversation;
  }

  /** Open and not closing: frames sent now may reach the client. */
  get isOpen(): boolean {
    return !this.#closing && this.#ws.readyState === this.#ws.OPEN;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes queued in the socket, not yet handed to the kernel (ws bufferedAmount). */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  /** Sends `frame` when the connection is open; false when it was not sent. */
  send(frame: ServerFrame): boolean {
    if (!this.isOpen) return false;
    const next = advance(this.#conversation, frame);
    const encoded = next.ok ? encodeServerFrame(frame, this.#limits) : next;
    if (!next.ok || !encoded.ok) {
      const error = next.ok ? (encoded.ok ? undefined : encoded.error) : next.error;
      this.#log({ event: 'session.bad-server-frame', level: 'error', frame: frame.type, code: error?.code, message: error?.message });
      this.#close(INTERNAL_ERROR_CLOSE, 'internal error');
      return false;
    }
    this.#conversation = next.state;
    this.#ws.send(encoded.payload);
    if (this.#ws.bufferedAmount > this.#backlogLimitBytes) {
      this.#log({ event: 'session.client-backlog', level: 'warn', bufferedBytes: this.#ws.bufferedAmount, limitBytes: this.#backlogLimitBytes });
      this.terminate();
      return false;
    }
    return true;
  }

  /** A fatal refusal: `error {fatal: true}` when the connection is still open, then the code's close. */
  fail(code: ErrorCode, message: string): void {
    if (!this.isOpen) return;
    const text = toWireMessage(message);
    const sent = this.send({ type: 'error', code, message: text, fatal: true });
    if (!sent && !this.isOpen) return;
    const close = closeFor(code, text);
    this.#close(close.closeCode, close.reason);
  }

  /** A non-fatal refusal (SG_INPUT_RATE, say): the session goes on. */
  refuse(code: ErrorCode, message: string): void {
    this.send({ type: 'error', code, message: toWireMessage(message), fatal: false });
  }

  /** The normal end after `exit` (1000). */
  end(): void {
    this.#close(CLOSE_CODES.normal, '');
  }

  /** Closes with `code` (1001 at shutdown, 1011 on a gateway bug). */
  close(code: number, reason: string): void {
    this.#close(code, reason);
  }

  /** Cuts the connection without a close handshake. */
  terminate(): void {
    this.#closing = true;
    this.#ws.terminate();
  }

  #close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#ws.close(code, reason);
  }

  #receive(data: WebSocket.RawData, isBinary: boolean): void {
    // Frames that arrive while closing are the peer's race with our close, not news.
    if (this.#closing) return;
    const decoded = decodeClientFrame(toBytes(data), { binary: isBinary, limits: this.#limits });
    if (!decoded.ok) return this.fail(decoded.error.code, decoded.error.message);
    const next = advance(this.#conversation, decoded.frame);
    if (!next.ok) return this.fail(next.error.code, next.error.message);
    this.#conversation = next.state;
    if (next.ignored || this.#handler === undefined) return;
    try {
      this.#handler.frame(decoded.frame);
    } catch (error) {
      // A bug of the session layer: this connection ends, nothing else does.
      this.#log({ event: 'session.handler-failed', level: 'error', frame: decoded.frame.type, error: error instanceof Error ? error.message : 'unknown' });
      this.#close(INTERNAL_ERROR_CLOSE, 'internal error');
    }
  }
}

/** ws delivers a Buffer with binaryType 'nodebuffer'; the other shapes only for other settings. */
function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
