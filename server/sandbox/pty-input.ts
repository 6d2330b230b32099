import fs from 'node:fs';
import net from 'node:net';

import type { IPty } from 'node-pty';

import { SandgateError } from '../errors/sandgate-error.js';
import { errnoCode } from './cgroup/cgroup-fs.js';

/**
 * Input to a PTY with a completion signal: write() resolves once the kernel has taken the
 * bytes into the terminal's input queue, so that a session acknowledges only stdin that
 * reached the terminal, and a program that never reads its terminal stops its writer instead
 * of growing a queue in the gateway (STYLE.md rule 5).
 *
 * node-pty's own write() gives no completion, keeps an unbounded queue, and retries a full
 * terminal (EAGAIN) with setImmediate, i.e. at full CPU for as long as the program does not
 * read (lib/unixTerminal.js, CustomWriteStream). Node's streams cannot do better on a PTY
 * master: net.Socket refuses a TTY fd (ERR_INVALID_FD_TYPE), and libuv's TTY handle cannot
 * reopen a master, so it falls back to blocking writes (src/unix/tty.c, uv_tty_init), which
 * on node-pty's non-blocking fd spin in uv__write. There is no poll handle in Node's API.
 *
 * So: non-blocking write(2) on the master from the main thread; on EAGAIN a retry after a
 * pause that doubles from retryMinMs up to retryMaxMs. A terminal that stays full costs at
 * most 1000 / retryMaxMs wake-ups a second; one that drains is written again within
 * retryMaxMs. One write at a time, in order.
 */

export const PTY_INPUT_DEFAULTS = Object.freeze({
  /** First pause after the terminal's input queue was full, ms. */
  retryMinMs: 1,
  /** Longest pause between two tries while the program does not read its terminal, ms. */
  retryMaxMs: 50,
});

export type PtyInputOptions = Readonly<typeof PTY_INPUT_DEFAULTS>;

/** How a write ended: every byte reached the terminal, or the input was closed first. */
export type PtyWriteOutcome = 'written' | 'dropped';

/** The master side of node-pty's terminal, as far as writing to it goes. */
export interface PtyMaster {
  readonly fd: number;
  /**
   * False once node-pty has closed the fd, which it does on the main thread as it destroys
   * its socket: checked right before each write, so a number the kernel handed out again to
   * another file is never written to.
   */
  readonly isOpen: () => boolean;
}

/**
 * The master of a node-pty 1.1 UnixTerminal: its `fd` and the socket (`_socket`) that owns
 * it. Neither is in node-pty's typings; both are checked here, so that another version fails
 * at the spawn with this message rather than writing somewhere else.
 */
export function ptyMasterOf(term: IPty): PtyMaster {
  const fd: unknown = Reflect.get(term, 'fd');
  const socket: unknown = Reflect.get(term, '_socket');
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || !(socket instanceof net.Socket)) {
    throw new SandgateError('SG_NATIVE_LOAD', 'node-pty has no master fd and socket where version 1.1 keeps them (UnixTerminal fd, _socket): PTY input needs them', {});
  }
  return { fd, isOpen: () => !socket.destroyed };
}

interface PendingWrite {
  readonly bytes: Buffer;
  written: number;
  readonly done: (outcome: PtyWriteOutcome) => void;
}

export class PtyInput {
  readonly #master: PtyMaster;
  readonly #options: PtyInputOptions;
  readonly #queue: PendingWrite[] = [];
  #retryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(master: PtyMaster, options: PtyInputOptions = PTY_INPUT_DEFAULTS) {
    if (!(options.retryMinMs >= 1 && options.retryMaxMs >= options.retryMinMs)) {
      throw new RangeError(`retryMinMs must be ≥ 1 and retryMaxMs ≥ retryMinMs, got ${options.retryMinMs} and ${options.retryMaxMs}`);
    }
    this.#master = master;
    this.#options = options;
    this.#retryMs = options.retryMinMs;
  }

  /** Bytes accepted by write() and not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.#queue.reduce((sum, pending) => sum + pending.bytes.byteLength - pending.written, 0);
  }

  /** Writes a copy of `bytes`; resolves once all of it reached the terminal, or was dropped by close(). */
  write(bytes: Uint8Array): Promise<PtyWriteOutcome> {
    if (this.#closed) return Promise.resolve('dropped');
    if (bytes.byteLength === 0) return Promise.resolve('written');
    return new Promise((resolve) => {
      this.#queue.push({ bytes: Buffer.from(bytes), written: 0, done: resolve });
      if (this.#queue.length === 1 && this.#timer === undefined) this.#flush();
    });
  }

  /**
   * The keystroke path: when nothing is queued, one write(2) of `bytes` now, from the caller's
   * own buffer (no copy, no promise, no tick between the WebSocket message and the terminal).
   * Returns the bytes the terminal took: all of them once the input is closed (dropped, as
   * write() would resolve), 0 while earlier writes are queued or the terminal is full. The
   * caller write()s the rest, which keeps the order.
   */
  writeNow(bytes: Uint8Array): number {
    if (this.#closed) return bytes.byteLength;
    if (bytes.byteLength === 0 || this.#queue.length > 0 || this.#timer !== undefined) return 0;
    const count = this.#writeOnce(bytes);
    if (count === 'full') return 0;
    if (count === 'closed') {
      this.close();
      return bytes.byteLength;
    }
    return count;
  }

  /** No more input: pending and later writes resolve 'dropped'. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const pending of this.#queue.splice(0)) pending.done('dropped');
  }

  #flush(): void {
    this.#timer = undefined;
    for (let head = this.#queue[0]; head !== undefined; head = this.#queue[0]) {
      const count = this.#writeOnce(head.bytes.subarray(head.written));
      if (count === 'full') return this.#retryLater();
      if (count === 'closed') return this.close();
      this.#retryMs = this.#options.retryMinMs;
      head.written += count;
      if (head.written === head.bytes.byteLength) {
        this.#queue.shift();
        head.done('written');
      }
    }
  }

  /** One non-blocking write(2) of `bytes` (not empty) to the master: the count it took, or why none. */
  #writeOnce(bytes: Uint8Array): number | 'full' | 'closed' {
    if (!this.#master.isOpen()) return 'closed';
    try {
      return fs.writeSync(this.#master.fd, bytes);
    } catch (error) {
      if (errnoCode(error) === 'EAGAIN') return 'full';
      // EIO: the terminal's other side is closed, the sandbox and its launcher are gone;
      // input has nowhere to go, as on a pipe without a reader. No other error is expected
      // on a master that is open; one would end the input the same way, seen by every
      // pending write() as 'dropped'.
      return 'closed';
    }
  }

  #retryLater(): void {
    this.#timer = setTimeout(() => this.#flush(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, this.#options.retryMaxMs);
  }
}
