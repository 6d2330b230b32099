/**
 * TestClient: one sandgate WebSocket connection for tests, typed end to end with the protocol
 * module (codec + conversation reducer). See gateway-harness.ts for the overview.
 *
 *   open(fields) / resume(fields)      send the first frame, resolve with the hello (reject on a fatal error)
 *   attach(fields)                     watch a session: resolve with attached (reject on a fatal error)
 *   write(data) / closeStdin()         stdin within the window (queued until stdin-acks), then stdin-close
 *   resize(c, r) / signal(name)        control frames
 *   ack(offset?) / setAckMode(mode)    manual acks (default: everything received), or back to 'auto'
 *   send(frame) / sendRaw(data, {binary})   any valid frame (even out of order), or any bytes
 *   waitForOutput(pattern, {channel?}) / waitForFrame(type, where?) / waitForStdinAck(offset) / waitForExit() / waitForClose()
 *   waitFor(what, check)               any condition, re-checked on every frame and on the close
 *   output(channel?) / text(channel?)  bytes (text) received since the hello, all or by channel
 *   frames                              every control frame received, in order
 *   violations                          what the gateway sent that breaks the protocol (should be empty)
 *   hello / receivedOffset / outputBytes / stdinOffset / conversation / closed
 *   close(code?) / terminate()         a clean close, or a dropped TCP connection
 */
import { StringDecoder } from 'node:string_decoder';
import WebSocket from 'ws';

import {
  CEILING_FRAME_LIMITS, advance, decodeServerFrame, encodeClientFrame, errorCodeOfClose, startConversation, stdinCredit,
  STDIN_HEADER_BYTES,
  type AttachFrame, type AttachedFrame, type ClientFrame, type Conversation, type ExitFrame, type HelloFrame, type OpenFrame, type OutputChannel, type ResumeFrame,
  type ServerFrame, type SignalName, type OpenPtyFrame, type OpenExecFrame,
} from '../../client-sdk/src/protocol/index.js';
import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';

/** Default bound of every wait, ms: a sandbox spawn plus a shell start on a loaded 2-core VM. */
export const WAIT_MS = 15_000;

export interface TestClientOptions {
  /** 'auto' (default): ack everything received once per event-loop turn; 'manual': only `ack()` (see setAckMode). */
  readonly ack?: 'auto' | 'manual';
  /** Keep output bytes (default true); false keeps only the counts (floods). */
  readonly retainOutput?: boolean;
}

export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
  /** The registry code the close stands for (errorCodeOfClose), if any. */
  readonly errorCode: ErrorCode | undefined;
}

/** An open frame without its `type`: `{ kind: 'pty', cols, rows, … }` or `{ kind: 'exec', argv, … }`. */
export type OpenFields = Omit<OpenPtyFrame, 'type'> | Omit<OpenExecFrame, 'type'>;

type ControlFrame = Exclude<ServerFrame, { type: 'output' }>;
type ControlType = ControlFrame['type'];

function isFrameOf<K extends ControlType>(frame: ControlFrame, type: K): frame is Extract<ControlFrame, { type: K }> {
  return frame.type === type;
}

export class TestClient {
  readonly ws: WebSocket;
  readonly frames: ControlFrame[] = [];
  /** The stdin acknowledgement the latest output frame carried. */
  lastOutputStdinAck = 0;
  readonly violations: string[] = [];
  #conversation: Conversation = startConversation();
  #hello: HelloFrame | undefined;
  #chunks: { readonly channel: OutputChannel; readonly data: Buffer }[] = [];
  #received = 0;
  #outputBytes = 0;
  #stdinQueue: Buffer[] = [];
  #stdinCloseWanted = false;
  #close: CloseEvent | undefined;
  #ackScheduled = false;
  #ackMode: 'auto' | 'manual';
  /** Output as text, decoded incrementally (a character may span frames): all, stdout, stderr. */
  readonly #texts = new Map<OutputChannel | 'all', { decoder: StringDecoder; text: string }>();
  readonly #waiters = new Set<() => void>();
  readonly #options: TestClientOptions;

  constructor(ws: WebSocket, options: TestClientOptions = {}) {
    this.ws = ws;
    this.#options = options;
    this.#ackMode = options.ack ?? 'auto';
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.#receive(Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]), isBinary));
    ws.on('error', () => undefined); // the close that follows is what tests look at
    ws.once('close', (code, reason) => {
      const text = reason.toString('utf8');
      this.#close = { code, reason: text, errorCode: errorCodeOfClose(code, text) };
      this.#notify();
    });
  }

  get hello(): HelloFrame | undefined {
    return this.#hello;
  }

  /** Output offset after the last byte received (= the next expected offset). */
  get receivedOffset(): number {
    return this.#received;
  }

  /** Output bytes received on this connection. */
  get outputBytes(): number {
    return this.#outputBytes;
  }

  /** Stdin bytes sent so far (offset of the next stdin frame). */
  get stdinOffset(): number {
    return this.#conversation.stdinOffset;
  }

  get conversation(): Conversation {
    return this.#conversation;
  }

  get closed(): CloseEvent | undefined {
    return this.#close;
  }

  async open(fields: OpenFields, timeoutMs = WAIT_MS): Promise<HelloFrame> {
    const frame: OpenFrame = fields.kind === 'pty' ? { ...fields, type: 'open' } : { ...fields, type: 'open' };
    this.send(frame);
    return this.#answer(timeoutMs);
  }

  async resume(fields: Omit<ResumeFrame, 'type'>, timeoutMs = WAIT_MS): Promise<HelloFrame> {
    this.#received = fields.outputOffset;
    this.send({ type: 'resume', ...fields });
    return this.#answer(timeoutMs);
  }

  async attach(fields: Omit<AttachFrame, 'type'>, timeoutMs = WAIT_MS): Promise<AttachedFrame> {
    this.send({ type: 'attach', ...fields });
    const answer = await this.waitFor('attached', () => this.frames.find((frame) => frame.type === 'attached' || (frame.type === 'error' && frame.fatal)), timeoutMs);
    if (answer.type !== 'attached') throw new Error(`refused instead of attached: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** Sends `frame` through the codec (throws if the codec refuses it: use sendRaw for that). */
  send(frame: ClientFrame): void {
    const encoded = encodeClientFrame(frame, this.#hello?.limits ?? CEILING_FRAME_LIMITS);
    if (!encoded.ok) throw new Error(`the codec refuses this ${frame.type}: ${encoded.error.code} ${encoded.error.message}`);
    const next = advance(this.#conversation, frame);
    if (next.ok) this.#conversation = next.state;
    this.ws.send(encoded.payload);
  }

  /** Sends bytes or text as they are. */
  sendRaw(data: string | Uint8Array, options: { readonly binary: boolean }): void {
    this.ws.send(data, { binary: options.binary });
  }

  /** Stdin, sent as the window allows; the rest follows stdin-acks. */
  write(data: string | Uint8Array): void {
    this.#stdinQueue.push(Buffer.from(data));
    this.#flushStdin();
  }

  /** stdin-close, after everything written so far. */
  closeStdin(): void {
    this.#stdinCloseWanted = true;
    this.#flushStdin();
  }

  resize(cols: number, rows: number): void {
    this.send({ type: 'resize', cols, rows });
  }

  signal(signal: SignalName): void {
    this.send({ type: 'signal', signal });
  }

  /** Switches acknowledgement mode; 'auto' acknowledges what was received at once. */
  setAckMode(mode: 'auto' | 'manual'): void {
    this.#ackMode = mode;
    if (mode === 'auto') this.#scheduleAck();
  }

  /** Acknowledges output up to `offset` (default: everything received). */
  ack(offset = this.#received): void {
    if (offset > this.#conversation.outputAcked) this.send({ type: 'ack', offset });
  }

  /** Output received since the hello: every channel in order, or one. */
  output(channel?: OutputChannel): Buffer {
    return Buffer.concat(this.#chunks.filter((chunk) => channel === undefined || chunk.channel === channel).map((chunk) => chunk.data));
  }

  /** Output since the hello as UTF-8 text: every channel in order, or one. */
  text(channel?: OutputChannel): string {
    return this.#texts.get(channel ?? 'all')?.text ?? '';
  }

  waitForOutput(pattern: RegExp, options: { readonly channel?: OutputChannel; readonly timeoutMs?: number } = {}): Promise<RegExpExecArray> {
    return this.waitFor(`output matching ${pattern}`, () => pattern.exec(this.text(options.channel)) ?? undefined, options.timeoutMs);
  }

  waitForFrame<K extends ControlType>(type: K, where: (frame: Extract<ControlFrame, { type: K }>) => boolean = () => true, timeoutMs = WAIT_MS): Promise<Extract<ControlFrame, { type: K }>> {
    return this.waitFor(`a ${type} frame`, () => this.frames.find((frame): frame is Extract<ControlFrame, { type: K }> => isFrameOf(frame, type) && where(frame)), timeoutMs);
  }

  /** Until the server has acknowledged `offset` stdin bytes: by a stdin-ack, or the acknowledgement an output frame carries. */
  waitForStdinAck(offset: number, timeoutMs = WAIT_MS): Promise<number> {
    return this.waitFor(`stdin acknowledged up to ${offset}`, () => (this.#conversation.stdinAcked >= offset ? this.#conversation.stdinAcked : undefined), timeoutMs);
  }

  waitForExit(timeoutMs = WAIT_MS): Promise<ExitFrame> {
    return this.waitForFrame('exit', () => true, timeoutMs);
  }

  /** The close of the connection (resolves at once if it is closed). */
  waitForClose(timeoutMs = WAIT_MS): Promise<CloseEvent> {
    return this.waitFor('the close', () => this.#close, timeoutMs, { untilClose: false });
  }

  /**
   * Resolves with `check()`'s first defined value, re-checked on every frame and on the close;
   * rejects after `timeoutMs`, or when the connection closed without it (unless untilClose is false).
   */
  waitFor<T>(what: string, check: () => T | undefined, timeoutMs = WAIT_MS, options: { readonly untilClose?: boolean } = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        cleanup();
        reject(new Error(`${why} waiting for ${what}; frames: ${this.#describeFrames()}; output tail: ${JSON.stringify(this.text().slice(-300))}`));
      };
      const probe = (): void => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (this.#close !== undefined && options.untilClose !== false) {
          fail(`the connection closed (${this.#close.code} ${this.#close.reason})`);
        }
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(probe);
      };
      this.#waiters.add(probe);
      probe();
    });
  }

  close(code = 1000): void {
    this.ws.close(code);
  }

  /** Drops the TCP connection without a close frame (a network failure, as the gateway sees it). */
  terminate(): void {
    this.ws.terminate();
  }

  async #answer(timeoutMs: number): Promise<HelloFrame> {
    const answer = await this.waitFor('hello', () => this.frames.find((frame) => frame.type === 'hello' || (frame.type === 'error' && frame.fatal)), timeoutMs);
    if (answer.type !== 'hello') throw new Error(`refused instead of hello: ${JSON.stringify(answer)}`);
    return answer;
  }

  #receive(data: Buffer, isBinary: boolean): void {
    const decoded = decodeServerFrame(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8'), { limits: this.#hello?.limits ?? CEILING_FRAME_LIMITS });
    if (!decoded.ok) {
      this.violations.push(`undecodable ${isBinary ? 'binary' : 'text'} message: ${decoded.error.code} ${decoded.error.message}`);
      return this.#notify();
    }
    const frame = decoded.frame;
    const next = advance(this.#conversation, frame);
    if (!next.ok) this.violations.push(`${frame.type}: ${next.error.code} ${next.error.message}`);
    else this.#conversation = next.state;
    if (frame.type === 'output') {
      this.#received = frame.offset + frame.data.byteLength;
      this.lastOutputStdinAck = frame.stdinAck;
      this.#outputBytes += frame.data.byteLength;
      if (this.#options.retainOutput !== false) {
        const data = Buffer.from(frame.data);
        this.#chunks.push({ channel: frame.channel, data });
        for (const key of ['all', frame.channel] as const) {
          const entry = this.#texts.get(key) ?? { decoder: new StringDecoder('utf8'), text: '' };
          entry.text += entry.decoder.write(data);
          this.#texts.set(key, entry);
        }
      }
      if (this.#ackMode === 'auto') this.#scheduleAck();
      // Every output frame carries the stdin acknowledgement: it may open the stdin window.
      this.#flushStdin();
    } else {
      this.frames.push(frame);
      if (frame.type === 'hello') {
        this.#hello = frame;
        this.#received = frame.outputOffset;
      }
      if (frame.type === 'attached') this.#received = frame.outputOffset;
      if (frame.type === 'stdin-ack' || frame.type === 'hello') this.#flushStdin();
    }
    this.#notify();
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      if (this.#ackMode === 'auto' && this.ws.readyState === WebSocket.OPEN && this.#conversation.phase === 'running') this.ack();
    });
  }

  #flushStdin(): void {
    const limits = this.#hello?.limits;
    if (limits === undefined || this.ws.readyState !== WebSocket.OPEN) return;
    for (let head = this.#stdinQueue[0]; head !== undefined; head = this.#stdinQueue[0]) {
      const room = Math.min(stdinCredit(this.#conversation), limits.maxDataFrameBytes - STDIN_HEADER_BYTES);
      if (room <= 0) return;
      const chunk = head.subarray(0, room);
      if (chunk.byteLength === head.byteLength) this.#stdinQueue.shift();
      else this.#stdinQueue[0] = head.subarray(room);
      this.send({ type: 'stdin', offset: this.#conversation.stdinOffset, data: chunk });
    }
    if (this.#stdinCloseWanted && !this.#conversation.stdinClosed) this.send({ type: 'stdin-close', offset: this.#conversation.stdinOffset });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #describeFrames(): string {
    return this.frames.map((frame) => (frame.type === 'error' ? `error ${frame.code}` : frame.type)).join(', ') || 'none';
  }
}
