import WebSocket from 'ws';
import {
  advance, decodeServerFrame, encodeClientFrame, startConversation, stdinCredit, SUBPROTOCOL,
  type ClientFrame, type Conversation, type OpenFrame, type ServerFrame,
} from '../../client-sdk/src/protocol/index.js';

/**
 * The sandgate client of gateway.bench.ts: as lean as the bench's naive client (a tail of the
 * output, one set of waiters) and still a full protocol client. Every server message is
 * decoded by the shared codec and every frame, both ways, goes through the conversation
 * reducer, as the SDK does: a frame that breaks the protocol (a gap in the output offsets,
 * output past the window, a bad stdin offset) fails the bench instead of being measured.
 *
 * Acks (docs/protocol.md, "Flow control"): `half-window` acks once half the output window is
 * unacknowledged, and at most `ackDelayMs` after the oldest unacknowledged byte (a delayed
 * ack, as TCP's, RFC 1122 §4.2.3.2), so idle output is acknowledged too; `every-frame` acks
 * each output frame. Acks go out after the waiters have seen the frame, as a terminal acks
 * after rendering.
 */

export const ACK_POLICIES = ['half-window', 'every-frame'] as const;
export type AckPolicy = (typeof ACK_POLICIES)[number];

export interface BenchClientOptions {
  readonly token: string;
  readonly ack: AckPolicy;
  readonly ackDelayMs: number;
  /** Output bytes kept for waiting (enough for any prompt or marker). */
  readonly tailBytes: number;
}

export class BenchClient {
  readonly #ws: WebSocket;
  readonly #options: BenchClientOptions;
  readonly #waiters = new Set<() => void>();
  #conversation: Conversation = startConversation();
  #tail: Buffer = Buffer.alloc(0);
  #ackTimer: NodeJS.Timeout | undefined;
  #failure: Error | undefined;

  private constructor(ws: WebSocket, options: BenchClientOptions) {
    this.#ws = ws;
    this.#options = options;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#receive(data, isBinary));
    ws.on('close', () => clearTimeout(this.#ackTimer));
  }

  /** An upgraded connection to `url` (rejects when the gateway refuses it). */
  static connect(url: string, options: BenchClientOptions): Promise<BenchClient> {
    const ws = new WebSocket(url, [SUBPROTOCOL], { headers: { Authorization: `Bearer ${options.token}` }, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new BenchClient(ws, options)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`the upgrade was refused with ${res.statusCode ?? '?'}`)));
      ws.once('error', reject);
    });
  }

  /** Output bytes received so far. */
  get received(): number {
    return this.#conversation.outputOffset;
  }

  open(frame: OpenFrame): void {
    this.#send(frame);
  }

  /** Stdin at the next offset; the bench only types, far below the stdin window. */
  write(bytes: Uint8Array): void {
    if (stdinCredit(this.#conversation) < bytes.byteLength) throw new Error(`${bytes.byteLength} stdin bytes exceed the stdin credit (${stdinCredit(this.#conversation)} B)`);
    this.#send({ type: 'stdin', offset: this.#conversation.stdinOffset, data: bytes });
  }

  /** Resolves when the output from offset `from` contains `text`, with the time it was seen. */
  waitFor(text: string, from: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.#failure !== undefined) return finish(() => reject(this.#failure));
        const tailStart = this.received - this.#tail.byteLength;
        if (this.#tail.subarray(Math.max(0, from - tailStart - text.length)).includes(text)) finish(() => resolve(performance.now()));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for "${text}"`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.#ws.terminate();
  }

  #send(frame: ClientFrame): void {
    const next = advance(this.#conversation, frame);
    const encoded = encodeClientFrame(frame);
    if (!next.ok || !encoded.ok) throw new Error(`the bench client may not send ${frame.type}: ${next.ok ? (encoded.ok ? '' : encoded.error.message) : next.error.message}`);
    this.#conversation = next.state;
    this.#ws.send(encoded.payload, { binary: typeof encoded.payload !== 'string' });
  }

  #receive(data: Buffer, isBinary: boolean): void {
    const decoded = decodeServerFrame(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8'), { binary: isBinary });
    const next = decoded.ok ? advance(this.#conversation, decoded.frame) : decoded;
    if (!next.ok || !decoded.ok) {
      this.#failure = new Error(`the gateway broke the protocol: ${next.ok ? '' : `${next.error.code} ${next.error.message}`}`);
      this.close();
    } else {
      this.#conversation = next.state;
      if (decoded.frame.type === 'output') this.#keep(decoded.frame.data);
      else if (decoded.frame.type === 'error' || decoded.frame.type === 'exit') this.#failure = new Error(`the session ended: ${describe(decoded.frame)}`);
    }
    for (const check of [...this.#waiters]) check();
    if (decoded.ok && decoded.frame.type === 'output') this.#ackOutput();
  }

  #keep(data: Uint8Array): void {
    const joined = Buffer.concat([this.#tail, data]);
    this.#tail = joined.byteLength > this.#options.tailBytes ? joined.subarray(joined.byteLength - this.#options.tailBytes) : joined;
  }

  #ackOutput(): void {
    const unacked = this.#conversation.outputOffset - this.#conversation.outputAcked;
    if (unacked === 0) return;
    if (this.#options.ack === 'every-frame' || unacked >= this.#conversation.outputWindowBytes / 2) this.#ack();
    else this.#ackTimer ??= setTimeout(() => this.#ack(), this.#options.ackDelayMs);
  }

  #ack(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const offset = this.#conversation.outputOffset;
    if (this.#ws.readyState === WebSocket.OPEN && offset > this.#conversation.outputAcked) this.#send({ type: 'ack', offset });
  }
}

function describe(frame: ServerFrame): string {
  return frame.type === 'error' ? `error ${frame.code}` : frame.type;
}
