/**
 * A seeded PRNG for tests that pick random inputs (fuzzing, disconnect points): the same seed
 * gives the same run, so a failure is replayed by setting SANDGATE_FUZZ_SEED to the printed seed.
 */

/** mulberry32 (Tommy Ettinger, public domain): 32 bits of state, uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** An integer in [min, max]. */
export function intBetween(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

/** `length` random bytes. */
export function bytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * The same generator as an object, for property tests that draw many kinds of values; the
 * seed is kept so a failure can name it.
 */
export class SeededRandom {
  readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in 0..below-1. */
  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  /** An integer in min..max, the edges more often than chance (bugs live there). */
  between(min: number, max: number): number {
    const roll = this.int(10);
    if (roll === 0) return min;
    if (roll === 1) return max;
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return pick(this.next, items);
  }

  bytes(count: number): Uint8Array {
    return bytes(this.next, count);
  }
}
