/**
 * mulberry32, a small well-distributed 32-bit PRNG (public domain, Tommy Ettinger): property
 * tests of the session layer draw from it so that a failure names a seed that replays it.
 */
export class SeededRandom {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
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

  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = this.int(256);
    return out;
  }
}

/** The seeds every property test runs; SANDGATE_SESSION_SEED adds one to replay a failure. */
export function propertySeeds(count: number): number[] {
  const extra = process.env['SANDGATE_SESSION_SEED'];
  const seeds = Array.from({ length: count }, (_, index) => 0x5e55_0000 + index);
  return extra === undefined ? seeds : [Number(extra), ...seeds];
}
