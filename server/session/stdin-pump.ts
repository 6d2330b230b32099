import { createBucket, takeUpTo, type RateLimit, type TokenBucket } from './input-limiter.js';

/**
 * The input path of one session: stdin bytes received from the client (already checked
 * against the stdin window and offsets by the conversation reducer) → paced by
 * `stdinBytesPerSecond` (input-limiter.ts, `takeUpTo`) → written to the process one chunk at
 * a time → acknowledged once written. The client may only send `stdinWindowBytes` beyond the
 * last stdin-ack, so what this queue holds is bounded by the window (two windows for a
 * moment after a resume: what the old connection left plus the new one's credit).
 *
 * `stdin-close` is applied after every byte received before it was written (EOF in order).
 * One write and at most one pacing timer at a time; `dispose()` drops the rest.
 */

export interface StdinPumpOptions {
  readonly limit: RateLimit;
  readonly now: () => number;
  /** Writes one chunk; resolves when the gateway no longer holds it (never rejects). */
  readonly write: (bytes: Uint8Array) => Promise<void>;
  /**
   * Writes what the process takes at once, synchronously: the bytes taken (SessionSource.writeNow).
   * Tried first whenever nothing is queued; whatever it leaves goes through `write`.
   */
  readonly writeNow?: (bytes: Uint8Array) => number;
  /** End of input, after the last byte. */
  readonly closeInput: () => void;
  /** Called with the total written after each chunk: send a stdin-ack. */
  readonly written: (offset: number) => void;
}

export class StdinPump {
  readonly #options: StdinPumpOptions;
  readonly #queue: Uint8Array[] = [];
  #bucket: TokenBucket;
  #received = 0;
  #written = 0;
  #closeRequested = false;
  #closed = false;
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #disposed = false;

  constructor(options: StdinPumpOptions) {
    this.#options = options;
    this.#bucket = createBucket(options.limit, options.now());
  }

  /** Stdin bytes received from clients, all connections: hello.stdinOffset. */
  get received(): number {
    return this.#received;
  }

  /** Stdin bytes written to the process: the stdin-ack offset. */
  get written(): number {
    return this.#written;
  }

  /** stdin-close was received: hello.stdinClosed. */
  get closeRequested(): boolean {
    return this.#closeRequested;
  }

  /** Bytes received and not yet written. */
  get queuedBytes(): number {
    return this.#received - this.#written;
  }

  /**
   * `bytes` is a view into the WebSocket message: when nothing is pending it is offered to the
   * process at once (`writeNow`, a keystroke's only hop); what is left is copied and queued.
   */
  push(bytes: Uint8Array): void {
    if (this.#disposed || this.#closeRequested || bytes.byteLength === 0) return;
    this.#received += bytes.byteLength;
    const taken = this.#isIdle() ? this.#writeNow(bytes) : 0;
    if (taken < bytes.byteLength) this.#queue.push(bytes.slice(taken));
    this.#pump();
  }

  requestClose(): void {
    if (this.#disposed || this.#closeRequested) return;
    this.#closeRequested = true;
    this.#pump();
  }

  dispose(): void {
    this.#disposed = true;
    this.#queue.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Nothing queued, being written or waiting for the pace. */
  #isIdle(): boolean {
    return this.#queue.length === 0 && !this.#writing && this.#timer === undefined;
  }

  /** The synchronous write of what the pace allows now; the bucket is charged for what was taken. */
  #writeNow(bytes: Uint8Array): number {
    const writeNow = this.#options.writeNow;
    if (writeNow === undefined) return 0;
    const { limit, now } = this.#options;
    const at = now();
    const grant = takeUpTo(limit, this.#bucket, bytes.byteLength, at);
    if (grant.granted === 0) return 0;
    const taken = writeNow(grant.granted === bytes.byteLength ? bytes : bytes.subarray(0, grant.granted));
    if (taken === 0) return 0;
    this.#bucket = taken === grant.granted ? grant.bucket : takeUpTo(limit, this.#bucket, taken, at).bucket;
    this.#written += taken;
    this.#options.written(this.#written);
    return taken;
  }

  #pump(): void {
    if (this.#disposed || this.#writing || this.#timer !== undefined) return;
    const head = this.#queue[0];
    if (head === undefined) {
      if (this.#closeRequested && !this.#closed) {
        this.#closed = true;
        this.#options.closeInput();
      }
      return;
    }
    const grant = takeUpTo(this.#options.limit, this.#bucket, head.byteLength, this.#options.now());
    this.#bucket = grant.bucket;
    if (grant.granted === 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, Math.max(1, grant.retryAfterMs));
      return;
    }
    const chunk = grant.granted === head.byteLength ? head : head.subarray(0, grant.granted);
    if (chunk === head) this.#queue.shift();
    else this.#queue[0] = head.subarray(grant.granted);
    this.#writing = true;
    void this.#options.write(chunk).then(() => {
      this.#writing = false;
      if (this.#disposed) return;
      this.#written += chunk.byteLength;
      this.#options.written(this.#written);
      this.#pump();
    });
  }
}
