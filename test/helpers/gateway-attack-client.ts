import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { isErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import {
  decodeServerFrame, encodeClientFrame, errorCodeOfClose, type ClientFrame, type ErrorFrame, type ExitFrame, type HelloFrame,
  type NoticeFrame, type ServerFrame,
} from '../../client-sdk/src/protocol/index.js';

/**
 * A deliberately thin sandgate protocol client for the gateway's end-to-end tests: it speaks
 * the wire protocol through the shared codec, but never hides anything the server does. Every
 * server message is decoded strictly and recorded; output offsets are checked frame by frame
 * (a gap or a repeat is recorded, not repaired); acks are sent only when the test says so, or
 * automatically when `autoAck` is on. Waiting is always for an event, with a bounded timeout.
 */

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer`; omit for a token-less or subprotocol-token connection. */
  readonly token?: string;
  /** Default ['sandgate.v1']. */
  readonly protocols?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly origin?: string;
  /** Ack every output frame as it arrives (a prompt client). Default true. */
  readonly autoAck?: boolean;
  /** Keep only about this many of the latest output bytes (floods); default: keep everything. */
  readonly keepBytes?: number;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** The registry code the close stands for (errorCodeOfClose), if any. */
  readonly errorCode: string | undefined;
}

export interface HttpRefusal {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `code` of the JSON body, or undefined when the body is not the documented JSON. */
  readonly code: string | undefined;
}

/** A server message the codec refused (the gateway must never send one). */
export interface UndecodableMessage {
  readonly binary: boolean;
  readonly bytes: number;
  readonly code: string;
}

export type Upgrade = { readonly ok: true; readonly client: SgClient } | { readonly ok: false; readonly refusal: HttpRefusal };

/** Default bound of every wait, ms: generous for a loaded 2-core machine. */
export const WAIT_MS = 20_000;

export class SgClient {
  /** Every decoded control frame (not output), in arrival order. */
  readonly controls: ServerFrame[] = [];
  readonly undecodable: UndecodableMessage[] = [];
  /** Output offset problems (gap, repeat), as sentences. */
  readonly offsetProblems: string[] = [];
  /** Output received, by channel, in order. */
  readonly chunks: { readonly channel: 'stdout' | 'stderr'; readonly data: Buffer }[] = [];
  /** Output bytes received = the offset of the next output byte expected. */
  received = 0;
  /** Highest offset acked. */
  acked = 0;
  /** Stdin bytes sent. */
  stdinSent = 0;
  /** Latest stdin acknowledgement (a stdin-ack, or the one an output frame carries). */
  stdinAcked = 0;
  /** Largest `received - acked` seen on arrival of an output frame: what the server sent beyond the last ack. */
  maxUnacked = 0;
  autoAck: boolean;
  readonly closed: Promise<CloseInfo>;
  #closeInfo: CloseInfo | undefined;
  #joined: Buffer | undefined;
  #joinedChunks = 0;
  #keepBytes: number | undefined;
  #retained = 0;
  /** Output bytes dropped from the front of `chunks` (keepBytes): output() starts at this offset. */
  dropped = 0;
  #listeners = new Set<() => void>();

  private constructor(readonly ws: WebSocket, autoAck: boolean, keepBytes: number | undefined) {
    this.autoAck = autoAck;
    this.#keepBytes = keepBytes;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        const text = reason.toString('utf8');
        this.#closeInfo = { code, reason: text, errorCode: errorCodeOfClose(code, text) };
        resolve(this.#closeInfo);
        this.#notify();
      });
    });
    ws.on('error', () => undefined); // the close event follows and carries what matters
  }

  /** Opens a WebSocket to `url`: the client once upgraded, or the HTTP refusal. */
  static upgrade(url: string, options: ConnectOptions = {}): Promise<Upgrade> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`;
    const ws = new WebSocket(url, [...(options.protocols ?? ['sandgate.v1'])], {
      headers,
      perMessageDeflate: false,
      maxPayload: 2 * 1024 * 1024,
      ...(options.origin === undefined ? {} : { origin: options.origin }),
    });
    const client = new SgClient(ws, options.autoAck ?? true, options.keepBytes);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ok: true, client }));
      ws.once('unexpected-response', (req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => {
          req.destroy();
          const body = Buffer.concat(parts).toString('utf8');
          resolve({ ok: false, refusal: { status: res.statusCode ?? 0, headers: res.headers, body, code: bodyCode(body) } });
        });
      });
      ws.once('error', (error) => reject(error));
    });
  }

  /** Opens a WebSocket that must be admitted. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<SgClient> {
    const upgrade = await SgClient.upgrade(url, options);
    if (!upgrade.ok) throw new Error(`upgrade refused: ${upgrade.refusal.status} ${upgrade.refusal.body}`);
    return upgrade.client;
  }

  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** All output so far (both channels, in offset order), from offset `dropped` on. */
  output(): Buffer {
    if (this.#joined === undefined || this.#joinedChunks !== this.chunks.length) {
      this.#joined = Buffer.concat(this.chunks.map((c) => c.data));
      this.#joinedChunks = this.chunks.length;
    }
    return this.#joined;
  }

  channel(channel: 'stdout' | 'stderr'): Buffer {
    return Buffer.concat(this.chunks.filter((c) => c.channel === channel).map((c) => c.data));
  }

  /** Sends a frame through the codec (a test that wants a broken frame uses sendRaw). */
  send(frame: ClientFrame): void {
    const encoded = encodeClientFrame(frame);
    if (!encoded.ok) throw new Error(`the codec refused to encode ${frame.type}: ${encoded.error.code} ${encoded.error.message}`);
    if (frame.type === 'stdin') this.stdinSent = frame.offset + frame.data.byteLength;
    if (frame.type === 'ack') this.acked = Math.max(this.acked, frame.offset);
    this.ws.send(encoded.payload, { binary: typeof encoded.payload !== 'string' });
  }

  sendRaw(data: string | Uint8Array, binary: boolean): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary });
  }

  /** Stdin at the next offset, in frames of at most `frameBytes` payload bytes. */
  write(data: string | Uint8Array, frameBytes = 32 * 1024): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.byteLength; at += frameBytes) {
      this.send({ type: 'stdin', offset: this.stdinSent, data: bytes.subarray(at, Math.min(bytes.byteLength, at + frameBytes)) });
    }
  }

  /**
   * Sends all of `data` as stdin, never beyond the stdin window: waits for stdin-acks
   * (hello.limits.stdinWindowBytes) between frames. Then `stdin-close` when `close` is set.
   */
  async writeAll(data: Uint8Array, options: { readonly close?: boolean; readonly frameBytes?: number; readonly timeoutMs?: number } = {}): Promise<void> {
    const hello = await this.hello();
    const window = hello.limits.stdinWindowBytes;
    const frameBytes = Math.min(options.frameBytes ?? 16 * 1024, hello.limits.maxDataFrameBytes - 9);
    let at = 0;
    while (at < data.byteLength) {
      const credit = await this.until('stdin credit', () => {
        const c = this.stdinAcked + window - this.stdinSent;
        return c > 0 ? c : undefined;
      }, options.timeoutMs ?? WAIT_MS);
      const end = Math.min(data.byteLength, at + Math.min(credit, frameBytes));
      this.send({ type: 'stdin', offset: this.stdinSent, data: data.subarray(at, end) });
      at = end;
    }
    if (options.close === true) this.send({ type: 'stdin-close', offset: this.stdinSent });
  }

  ack(offset = this.received): void {
    if (offset > this.acked) this.send({ type: 'ack', offset });
  }

  /** The first control frame (past or future) that matches, within `timeoutMs`. */
  frame<T extends ServerFrame>(what: string, match: (frame: ServerFrame) => frame is T, timeoutMs = WAIT_MS): Promise<T> {
    return this.until(what, () => this.controls.find(match), timeoutMs);
  }

  hello(timeoutMs = WAIT_MS): Promise<HelloFrame> {
    return this.frame('hello', (f): f is HelloFrame => f.type === 'hello', timeoutMs);
  }

  exit(timeoutMs = WAIT_MS): Promise<ExitFrame> {
    return this.frame('exit', (f): f is ExitFrame => f.type === 'exit', timeoutMs);
  }

  error(timeoutMs = WAIT_MS): Promise<ErrorFrame> {
    return this.frame('an error frame', (f): f is ErrorFrame => f.type === 'error', timeoutMs);
  }

  notice<K extends NoticeFrame['kind']>(kind: K, timeoutMs = WAIT_MS): Promise<Extract<NoticeFrame, { kind: K }>> {
    return this.frame(`a ${kind} notice`, (f): f is Extract<NoticeFrame, { kind: K }> => f.type === 'notice' && f.kind === kind, timeoutMs);
  }

  /** Waits until the output (from offset `from`, decoded as latin1 so any byte is one char) matches; resolves with the offset after the match. */
  async waitOutput(pattern: RegExp, timeoutMs = WAIT_MS, from = 0): Promise<number> {
    return this.until(`output matching ${pattern}`, () => {
      const start = Math.max(from, this.dropped);
      const text = this.output().subarray(start - this.dropped).toString('latin1');
      const match = pattern.exec(text);
      return match === null ? undefined : start + match.index + match[0].length;
    }, timeoutMs);
  }

  /** Waits until `received` is at least `bytes`. */
  waitReceived(bytes: number, timeoutMs = WAIT_MS): Promise<number> {
    return this.until(`${bytes} output bytes`, () => (this.received >= bytes ? this.received : undefined), timeoutMs);
  }

  waitClosed(timeoutMs = WAIT_MS): Promise<CloseInfo> {
    return this.until('the close', () => this.#closeInfo, timeoutMs);
  }

  /** Re-checks `probe` on every message and on the close; rejects (naming `what`) after `timeoutMs`. */
  until<T>(what: string, probe: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value !== undefined) finish(() => resolve(value));
        else if (this.#closeInfo !== undefined && this.ws.readyState === WebSocket.CLOSED) {
          finish(() => reject(new Error(`closed (${this.#closeInfo?.code} ${this.#closeInfo?.reason}) while waiting for ${what}; ${this.describe()}`)));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.describe()}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      this.#listeners.add(check);
    });
  }

  /** State for failure messages. */
  describe(): string {
    const tail = this.output().subarray(-200).toString('latin1');
    const types = this.controls.map((f) => (f.type === 'error' ? `error ${f.code}` : f.type === 'notice' ? `notice ${f.kind}` : f.type));
    return `received ${this.received} B, acked ${this.acked}, controls [${types.join(', ')}], close ${this.#closeInfo?.code ?? '-'}, tail ${JSON.stringify(tail)}`;
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    const decoded = decodeServerFrame(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8'), { binary: isBinary });
    if (!decoded.ok) {
      this.undecodable.push({ binary: isBinary, bytes: data.byteLength, code: decoded.error.code });
    } else if (decoded.frame.type === 'output') {
      const frame = decoded.frame;
      this.maxUnacked = Math.max(this.maxUnacked, frame.offset + frame.data.byteLength - this.acked);
      this.stdinAcked = Math.max(this.stdinAcked, frame.stdinAck);
      if (frame.offset !== this.received) this.offsetProblems.push(`output frame at ${frame.offset} while ${this.received} bytes were received`);
      // Keep only the bytes past what we have: a repeat is recorded above, never appended twice.
      const skip = Math.max(0, this.received - frame.offset);
      if (frame.offset <= this.received && skip < frame.data.byteLength) {
        this.chunks.push({ channel: frame.channel, data: Buffer.from(frame.data.subarray(skip)) });
        this.received = frame.offset + frame.data.byteLength;
        this.#retained += frame.data.byteLength - skip;
        if (this.#keepBytes !== undefined && this.#retained > 2 * this.#keepBytes) this.#trim(this.#keepBytes);
      }
      if (this.autoAck && this.ws.readyState === WebSocket.OPEN) this.ack();
    } else {
      this.controls.push(decoded.frame);
      if (decoded.frame.type === 'hello') {
        this.received = decoded.frame.outputOffset;
        this.acked = decoded.frame.outputOffset;
        this.stdinSent = decoded.frame.stdinOffset;
        this.stdinAcked = decoded.frame.stdinOffset;
      } else if (decoded.frame.type === 'stdin-ack') {
        this.stdinAcked = Math.max(this.stdinAcked, decoded.frame.offset);
      }
    }
    this.#notify();
  }

  #trim(keep: number): void {
    const all = this.output();
    const tail = Buffer.from(all.subarray(all.byteLength - keep));
    const last = this.chunks[this.chunks.length - 1];
    this.chunks.splice(0, this.chunks.length, { channel: last?.channel ?? 'stdout', data: tail });
    this.dropped += all.byteLength - keep;
    this.#retained = keep;
    // The cache is keyed by the chunk count, which a trim resets: pushes could bring the count
    // back to the cached one and output() would return stale bytes (a flake seen once).
    this.#joined = undefined;
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

function bodyCode(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'code' in parsed && typeof parsed.code === 'string') return parsed.code;
  } catch {
    return undefined;
  }
  return undefined;
}

/** True when `code` is a code of the registry (docs/errors.md). */
export function isRegistryCode(code: string | undefined): boolean {
  return code !== undefined && isErrorCode(code);
}

/** A shell prompt the tests set (PS1), unlikely to appear in any command's output. */
export const PROMPT = 'SGPROMPT$ ';
export const PROMPT_RE = /SGPROMPT\$ $/;
