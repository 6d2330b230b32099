/**
 * Which output channel each byte of an exec session's ring came from, one bit per byte
 * (0 stdout, 1 stderr), indexed by absolute offset modulo a fixed size. A list of channel
 * runs would cost an object per run, and a sandboxed program that alternates one-byte writes
 * to stdout and stderr makes a run per byte; the bitmap costs capacity / 8 bytes whatever the
 * program does, and a PTY session (one channel) never allocates it.
 *
 * Bit i of the bitmap is `bits[i >> 3] & (1 << (i & 7))`. The modulus is a multiple of 8 at
 * least the ring's capacity, so the bytes a ring holds never share a bit.
 */
export class ChannelBitmap {
  readonly #bits: Uint8Array;
  readonly #modulus: number;

  /** `capacityBytes`: the most bytes whose channel is kept at once (the ring's capacity). */
  constructor(capacityBytes: number) {
    this.#modulus = Math.ceil(capacityBytes / 8) * 8;
    this.#bits = new Uint8Array(this.#modulus / 8);
  }

  /** Marks `length` bytes from `offset` (at most the capacity) with `bit`. */
  set(offset: number, length: number, bit: 0 | 1): void {
    const first = offset % this.#modulus;
    const linear = Math.min(length, this.#modulus - first);
    this.#setLinear(first, first + linear, bit);
    if (length > linear) this.#setLinear(0, length - linear, bit);
  }

  get(offset: number): 0 | 1 {
    return this.#bit(offset % this.#modulus);
  }

  /** How many bytes from `offset` (at most `maxLength`) share the channel of the first. */
  runLength(offset: number, maxLength: number): number {
    const first = offset % this.#modulus;
    const bit = this.#bit(first);
    const linear = Math.min(maxLength, this.#modulus - first);
    const run = this.#scan(first, first + linear, bit);
    if (run < linear || maxLength === linear) return run;
    return linear + this.#scan(0, maxLength - linear, bit);
  }

  #bit(position: number): 0 | 1 {
    return ((this.#bits[position >> 3] ?? 0) >> (position & 7)) & 1 ? 1 : 0;
  }

  #setLinear(from: number, to: number, bit: 0 | 1): void {
    let position = from;
    // Edge bits one by one, whole bytes with fill (memset).
    for (; position < to && (position & 7) !== 0; position++) this.#setBit(position, bit);
    const wholeEnd = to - (to & 7);
    if (position < wholeEnd) {
      this.#bits.fill(bit === 1 ? 0xff : 0, position >> 3, wholeEnd >> 3);
      position = wholeEnd;
    }
    for (; position < to; position++) this.#setBit(position, bit);
  }

  #setBit(position: number, bit: 0 | 1): void {
    const index = position >> 3;
    const mask = 1 << (position & 7);
    const byte = this.#bits[index] ?? 0;
    this.#bits[index] = bit === 1 ? byte | mask : byte & ~mask;
  }

  /** Length of the run of `bit` in [from, to). */
  #scan(from: number, to: number, bit: 0 | 1): number {
    let position = from;
    for (; position < to && (position & 7) !== 0; position++) if (this.#bit(position) !== bit) return position - from;
    const whole = bit === 1 ? 0xff : 0;
    while (position + 8 <= to && this.#bits[position >> 3] === whole) position += 8;
    for (; position < to; position++) if (this.#bit(position) !== bit) return position - from;
    return to - from;
  }
}
