import { PROTOCOL_LIMITS, type OutputChannel } from '../../client-sdk/src/protocol/index.js';
import { ChannelBitmap } from './channel-bitmap.js';

/**
 * A session's output, addressed by absolute byte offset: the one offset space that stdout
 * and stderr share on the wire (docs/protocol.md, "output"). It holds the newest
 * `capacityBytes` bytes — what the client may not have received yet, sent or not — so that
 * a resume continues exactly where the client stopped, and the sender reads from it at the
 * offset it has reached. The flow-control loop (flow-window.ts) keeps the bytes the client
 * may still need below the capacity; older bytes are overwritten.
 *
 * One contiguous byte buffer used as a circle: appends copy once, reads return views, nothing
 * is allocated per byte or per chunk. The buffer starts small and doubles up to the capacity,
 * so an idle session does not hold the full ring. The channel of each byte is recorded only
 * once a stderr byte arrives (ChannelBitmap).
 */

/** What `read` found at an offset. */
export type RingRead =
  /**
   * Bytes from `offset`, all of one channel, at most the asked length. `data` is a view into
   * the ring: valid until the next append; copy it to keep it (the codec does).
   */
  | { readonly kind: 'data'; readonly offset: number; readonly channel: OutputChannel; readonly data: Uint8Array }
  /** Nothing after this offset yet. */
  | { readonly kind: 'caught-up'; readonly offset: number }
  /** The bytes at this offset were overwritten; the oldest byte held is at `firstAvailableOffset`. */
  | { readonly kind: 'truncated'; readonly firstAvailableOffset: number };

export interface OutputRingOptions {
  /** The most bytes held at once (the `resumeBufferBytes` limit), ≥ 1. */
  readonly capacityBytes: number;
  /** Bytes allocated before the first growth; default 4 KiB (or the capacity, if smaller). */
  readonly initialBytes?: number;
}

/** Offsets of the bytes one append stored: [start, end). */
export interface AppendedRange {
  readonly start: number;
  readonly end: number;
}

/**
 * An idle shell's banner and prompt fit; a session that prints more grows its ring by doubling
 * (nine copies on the way to the 1.25 MiB default, once per session). Every session starts
 * with this much, so it is most of an idle session's own gateway memory.
 */
const DEFAULT_INITIAL_BYTES = 4 * 1024;

export class OutputRing {
  readonly capacityBytes: number;
  #buffer: Uint8Array;
  /** Index in #buffer of the byte at #start. */
  #head = 0;
  #start = 0;
  #end = 0;
  #channels: ChannelBitmap | undefined;

  constructor(options: OutputRingOptions) {
    const { capacityBytes, initialBytes = DEFAULT_INITIAL_BYTES } = options;
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1) {
      throw new RangeError(`OutputRing capacityBytes (resumeBufferBytes) must be a positive integer, got ${capacityBytes}`);
    }
    if (!Number.isSafeInteger(initialBytes) || initialBytes < 1) {
      throw new RangeError(`OutputRing initialBytes must be a positive integer, got ${initialBytes}`);
    }
    this.capacityBytes = capacityBytes;
    this.#buffer = new Uint8Array(Math.min(capacityBytes, initialBytes));
  }

  /** Offset of the oldest byte held (0 until the ring first overflows). */
  get startOffset(): number {
    return this.#start;
  }

  /** Offset of the next byte to be appended = total output so far. */
  get endOffset(): number {
    return this.#end;
  }

  /** Bytes held now, ≤ capacityBytes. */
  get heldBytes(): number {
    return this.#end - this.#start;
  }

  /** Bytes allocated now (the buffer grows to at most the capacity). */
  get allocatedBytes(): number {
    return this.#buffer.byteLength;
  }

  /**
   * Stores `bytes` (copied) as output of `channel` at the end offset, overwriting the oldest
   * bytes beyond the capacity. An empty append changes nothing.
   */
  append(channel: OutputChannel, bytes: Uint8Array): AppendedRange {
    const start = this.#end;
    const length = bytes.byteLength;
    if (length === 0) return { start, end: start };
    if (start + length > PROTOCOL_LIMITS.maxOffset) {
      throw new RangeError(`output would pass offset 2^53 - 1 (at ${start}, appending ${length} bytes)`);
    }
    // Only the newest capacityBytes of an oversized append can survive it.
    const kept = length > this.capacityBytes ? bytes.subarray(length - this.capacityBytes) : bytes;
    const keptStart = start + length - kept.byteLength;
    if (kept !== bytes) this.#restart(keptStart);
    this.#makeRoom(kept.byteLength);
    this.#write(kept);
    this.#end = start + length;
    this.#recordChannel(channel, keptStart, kept.byteLength);
    return { start, end: this.#end };
  }

  /**
   * Up to `maxBytes` (≥ 1) bytes of one channel from `fromOffset`, which is at most the end
   * offset. Reads stop at a channel change and at the buffer's wrap point: loop for more.
   */
  read(fromOffset: number, maxBytes: number): RingRead {
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0 || fromOffset > this.#end) {
      throw new RangeError(`OutputRing.read: offset ${fromOffset} is outside 0..${this.#end} (the end offset)`);
    }
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`OutputRing.read: maxBytes must be a positive integer, got ${maxBytes}`);
    if (fromOffset < this.#start) return { kind: 'truncated', firstAvailableOffset: this.#start };
    if (fromOffset === this.#end) return { kind: 'caught-up', offset: fromOffset };
    const position = this.#position(fromOffset);
    let length = Math.min(maxBytes, this.#end - fromOffset, this.#buffer.byteLength - position);
    let channel: OutputChannel = 'stdout';
    if (this.#channels !== undefined) {
      length = this.#channels.runLength(fromOffset, length);
      channel = this.#channels.get(fromOffset) === 1 ? 'stderr' : 'stdout';
    }
    return { kind: 'data', offset: fromOffset, channel, data: this.#buffer.subarray(position, position + length) };
  }

  #position(offset: number): number {
    return (this.#head + (offset - this.#start)) % this.#buffer.byteLength;
  }

  /** Drops everything held and continues at `offset` (an append larger than the capacity). */
  #restart(offset: number): void {
    this.#start = offset;
    this.#end = offset;
    this.#head = 0;
  }

  /** Grows the buffer (doubling, up to the capacity), then evicts the oldest bytes if still needed. */
  #makeRoom(incoming: number): void {
    const needed = this.heldBytes + incoming;
    const size = this.#buffer.byteLength;
    if (needed > size && size < this.capacityBytes) this.#grow(Math.min(this.capacityBytes, Math.max(needed, size * 2)));
    const excess = this.heldBytes + incoming - this.#buffer.byteLength;
    if (excess > 0) {
      this.#head = (this.#head + excess) % this.#buffer.byteLength;
      this.#start += excess;
    }
  }

  #grow(size: number): void {
    const next = new Uint8Array(size);
    const held = this.heldBytes;
    const firstPart = Math.min(held, this.#buffer.byteLength - this.#head);
    next.set(this.#buffer.subarray(this.#head, this.#head + firstPart), 0);
    next.set(this.#buffer.subarray(0, held - firstPart), firstPart);
    this.#buffer = next;
    this.#head = 0;
  }

  /** Copies `bytes` (which fit) after the last byte held, in at most two parts. */
  #write(bytes: Uint8Array): void {
    const size = this.#buffer.byteLength;
    const tail = (this.#head + this.heldBytes) % size;
    const firstPart = Math.min(bytes.byteLength, size - tail);
    this.#buffer.set(bytes.subarray(0, firstPart), tail);
    this.#buffer.set(bytes.subarray(firstPart), 0);
  }

  #recordChannel(channel: OutputChannel, offset: number, length: number): void {
    if (this.#channels === undefined) {
      if (channel === 'stdout') return;
      // Every byte so far was stdout, which is what a zeroed bitmap says.
      this.#channels = new ChannelBitmap(this.capacityBytes);
    }
    this.#channels.set(offset, length, channel === 'stderr' ? 1 : 0);
  }
}
