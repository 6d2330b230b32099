import test from 'ava';
import { controlFrameLimit, createBucket, stdinByteLimit, take, takeUpTo, type RateLimit, type TokenBucket } from '../../../server/session/input-limiter.js';
import { SESSION_LAYER_DEFAULTS } from '../../../server/session/session-limits.js';
import { propertySeeds, SeededRandom } from './seeded-random.js';

const tenPerSecond: RateLimit = { perSecond: 10, burst: 5 };

/** Applies takes at the given clock readings; returns 'allow' or the retry time of each. */
function run(limit: RateLimit, steps: ReadonlyArray<[atMs: number, amount: number]>): Array<'allow' | number> {
  let bucket: TokenBucket = createBucket(limit, 0);
  return steps.map(([atMs, amount]) => {
    const decision = take(limit, bucket, amount, atMs);
    bucket = decision.bucket;
    return decision.kind === 'allow' ? 'allow' : decision.retryAfterMs;
  });
}

test('a full bucket allows the burst at once, then refuses with the time until the next token', (t) => {
  t.deepEqual(run(tenPerSecond, [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [50, 1], [100, 1], [100, 1]]), [
    'allow', 'allow', 'allow', 'allow', 'allow', 100, 50, 'allow', 100,
  ]);
});

test('the bucket refills at the rate, up to the burst and no more', (t) => {
  t.deepEqual(run(tenPerSecond, [[0, 5], [10_000, 5], [10_000, 1]]), ['allow', 'allow', 100]);
  t.deepEqual(run(tenPerSecond, [[0, 5], [300, 3], [300, 1]]), ['allow', 'allow', 100]);
});

test('a request larger than the burst passes on a full bucket and leaves a debt that the rate repays', (t) => {
  t.deepEqual(run(tenPerSecond, [[0, 20], [0, 1], [1599, 1], [1600, 1], [1650, 1]]), ['allow', 1600, 1, 'allow', 50]);
  t.deepEqual(run(tenPerSecond, [[0, 1], [0, 20]]), ['allow', 100]);
});

test('waiting exactly retryAfterMs always lets the same request through', (t) => {
  const limit: RateLimit = { perSecond: 7, burst: 3 };
  let bucket = createBucket(limit, 0);
  let now = 0;
  for (let i = 0; i < 200; i++) {
    let decision = take(limit, bucket, 1 + (i % 4), now);
    if (decision.kind === 'refuse') {
      now += decision.retryAfterMs;
      decision = take(limit, decision.bucket, 1 + (i % 4), now);
    }
    if (decision.kind !== 'allow') return t.fail(`request ${i} refused after waiting`);
    bucket = decision.bucket;
  }
  t.pass();
});

test('rate 0 means unlimited', (t) => {
  const unlimited: RateLimit = { perSecond: 0, burst: 1 };
  t.deepEqual(run(unlimited, [[0, 1_000_000], [0, 1_000_000]]), ['allow', 'allow']);
  t.deepEqual(takeUpTo(unlimited, createBucket(unlimited, 0), 5000, 0).granted, 5000);
});

test('a clock that goes back refills nothing', (t) => {
  t.deepEqual(run(tenPerSecond, [[1000, 5], [500, 1], [1100, 1]]), ['allow', 100, 'allow']);
});

test('takeUpTo paces: it grants what the bucket holds and says when the next unit comes', (t) => {
  const limit: RateLimit = { perSecond: 1000, burst: 100 };
  const first = takeUpTo(limit, createBucket(limit, 0), 250, 0);
  t.deepEqual([first.granted, first.retryAfterMs], [100, 1]);
  const second = takeUpTo(limit, first.bucket, 150, 50);
  t.deepEqual([second.granted, second.retryAfterMs], [50, 1]);
  const third = takeUpTo(limit, second.bucket, 10, 60);
  t.deepEqual([third.granted, third.retryAfterMs], [10, 0]);
  t.deepEqual(takeUpTo(limit, third.bucket, 0, 60).granted, 0);
});

test('the named limits build buckets from the defaults; invalid values are refused', (t) => {
  t.deepEqual(controlFrameLimit(SESSION_LAYER_DEFAULTS), { perSecond: 20, burst: 40 });
  t.deepEqual(stdinByteLimit({ stdinBytesPerSecond: 0 }, SESSION_LAYER_DEFAULTS), { perSecond: 0, burst: 64 * 1024 });
  t.throws(() => controlFrameLimit({ controlFramesPerSecond: -1, controlBurstFrames: 1 }), { instanceOf: RangeError, message: /perSecond/ });
  t.throws(() => controlFrameLimit({ controlFramesPerSecond: 1, controlBurstFrames: 0 }), { instanceOf: RangeError, message: /burst/ });
  t.throws(() => take(tenPerSecond, createBucket(tenPerSecond, 0), 0, 0), { instanceOf: RangeError });
});

for (const seed of propertySeeds(8)) {
  test(`property (seed ${seed}): over any window of time, allowed units ≤ burst + rate × time`, (t) => {
    const random = new SeededRandom(seed);
    const limit: RateLimit = { perSecond: random.between(1, 1000), burst: random.between(1, 50) };
    let bucket = createBucket(limit, 0);
    let now = 0;
    const allowed: Array<[atMs: number, amount: number]> = [];
    for (let i = 0; i < 3000; i++) {
      now += random.between(0, 40);
      const amount = random.between(1, limit.burst);
      const decision = take(limit, bucket, amount, now);
      bucket = decision.bucket;
      if (decision.kind === 'allow') allowed.push([now, amount]);
      else if (decision.retryAfterMs < 1) return t.fail(`refusal with retry ${decision.retryAfterMs}`);
    }
    for (let start = 0; start < allowed.length; start += 37) {
      let total = 0;
      const [from = 0] = allowed[start] ?? [];
      for (let end = start; end < allowed.length; end++) {
        const [at = 0, amount = 0] = allowed[end] ?? [];
        total += amount;
        if (total > limit.burst + (limit.perSecond * (at - from)) / 1000 + 1e-9) return t.fail(`${total} units in ${at - from} ms`);
      }
    }
    t.pass();
  });
}
