import { randomBytes } from 'node:crypto';

/**
 * The end of a PTY sandbox's output, marked in band (launcher-contract.md, "End of PTY
 * output"). node-pty destroys the master 200 ms after the launcher exits unless it has read
 * EIO by then (lib/unixTerminal.js, DESTROY_SOCKET_TIMEOUT_MS), and a PTY paused for flow
 * control reads nothing: the bytes still in the kernel's buffer were lost. So the launcher,
 * once the sandbox has ended, writes ESC ] sandgate-end ; <nonce> BEL after its last byte and
 * stays until released; the output has ended exactly where that marker is.
 *
 * The nonce is 128 random bits per spawn, passed in the plan, which only the launcher can
 * read: a sandbox cannot forge the marker, and anything that merely resembles it (another
 * nonce, a cut-off prefix) is ordinary output.
 */

/** Random bits of the nonce. */
export const PTY_END_NONCE_BYTES = 16;

const MARKER_START = '\x1b]sandgate-end;';
const MARKER_END = '\x07';
const EMPTY = Buffer.alloc(0);

/** A fresh nonce for one spawn: the plan's `pty_end_marker` record (32 lowercase hex digits). */
export function newPtyEndNonce(): string {
  return randomBytes(PTY_END_NONCE_BYTES).toString('hex');
}

/**
 * The marker's bytes for `nonce`, as the launcher writes them. In memory of their own: a small
 * Buffer.from() is a slice of Node's shared 8 KiB pool, and the scanner keeps its marker for
 * the session's life, so each session kept a whole pool alive (8 KiB of gateway heap per
 * session in a heap snapshot of 200 idle shells).
 */
export function ptyEndMarker(nonce: string): Buffer {
  const text = `${MARKER_START}${nonce}${MARKER_END}`;
  const marker = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'latin1'));
  marker.write(text, 'latin1');
  return marker;
}

/** What one chunk of terminal output amounts to. */
export interface ScannedOutput {
  /** Output to pass on (may be empty; a view of the chunk when nothing was held back). */
  readonly data: Buffer;
  /** The marker was in this chunk: `data` is the last output, nothing after the marker is. */
  readonly ended: boolean;
}

/**
 * Finds the end marker in a stream of chunks, wherever the chunks are cut. A chunk that ends
 * with the beginning of the marker has that part held back until the next chunk shows whether
 * the marker follows; held bytes are an unfinished escape sequence, which a terminal could
 * not have shown yet either. Pure: no I/O, no timers.
 */
export class PtyEndScanner {
  readonly #marker: Buffer;
  #held: Buffer = EMPTY;
  #ended = false;

  constructor(marker: Buffer) {
    if (marker.length < 2 || marker.indexOf(marker[0] ?? 0, 1) !== -1) {
      // partialMarkerStart relies on the first byte (ESC) occurring once in the marker.
      throw new RangeError('the end marker must be at least 2 bytes and start with a byte it holds only once');
    }
    this.#marker = marker;
  }

  /** The marker has been seen. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes held back as a possible beginning of the marker. */
  get heldBytes(): number {
    return this.#held.length;
  }

  push(chunk: Buffer): ScannedOutput {
    if (this.#ended) return { data: EMPTY, ended: true };
    const bytes = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    const at = bytes.indexOf(this.#marker);
    if (at !== -1) {
      this.#ended = true;
      this.#held = EMPTY;
      return { data: bytes.subarray(0, at), ended: true };
    }
    const keep = partialMarkerStart(bytes, this.#marker);
    // A copy: the caller may reuse the chunk's memory once we return.
    this.#held = keep === bytes.length ? EMPTY : Buffer.from(bytes.subarray(keep));
    return { data: bytes.subarray(0, keep), ended: false };
  }

  /** The output ended without a marker (the launcher died first): what was held back is output. */
  flush(): Buffer {
    const held = this.#held;
    this.#held = EMPTY;
    return held;
  }
}

/**
 * Where the longest suffix of `bytes` that is a proper prefix of `marker` starts, or
 * `bytes.length` when there is none. Only the last marker.length - 1 bytes can start one, and
 * only at a copy of the marker's first byte.
 */
function partialMarkerStart(bytes: Buffer, marker: Buffer): number {
  const first = marker[0] ?? 0;
  for (let at = bytes.indexOf(first, Math.max(0, bytes.length - marker.length + 1)); at !== -1; at = bytes.indexOf(first, at + 1)) {
    if (bytes.subarray(at).equals(marker.subarray(0, bytes.length - at))) return at;
  }
  return bytes.length;
}

/**
 * Sent to the launcher once the marker was read: it exits then, with the command's status.
 * SIGCONT, the one signal the launcher forwards to the sandbox that no client can send
 * (server/session/session-input.ts): a client's late signal, meant for a command that has
 * just ended, cannot release the launcher before its last bytes were read (pty-end.h).
 */
export const PTY_END_RELEASE_SIGNAL: NodeJS.Signals = 'SIGCONT';
