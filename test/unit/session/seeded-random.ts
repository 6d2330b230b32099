export { SeededRandom } from '../../helpers/seeded-random.js';

/** The seeds every property test runs; SANDGATE_SESSION_SEED adds one to replay a failure. */
export function propertySeeds(count: number): number[] {
  const extra = process.env['SANDGATE_SESSION_SEED'];
  const seeds = Array.from({ length: count }, (_, index) => 0x5e55_0000 + index);
  return extra === undefined ? seeds : [Number(extra), ...seeds];
}
