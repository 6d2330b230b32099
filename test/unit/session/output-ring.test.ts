import test from 'ava';
import type { OutputChannel } from '../../../client-sdk/src/protocol/index.js';
import { OutputRing, type RingRead } from '../../../server/session/output-ring.js';
import { propertySeeds, SeededRandom } from './seeded-random.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decoded = (read: RingRead): string => (read.kind === 'data' ? new TextDecoder().decode(read.data) : `<${read.kind}>`);

/** Everything readable from `from`, as [channel, text] runs, looping over partial reads. */
function drain(ring: OutputRing, from: number, maxBytes = 1 << 20): Array<[OutputChannel, string]> {
  const runs: Array<[OutputChannel, string]> = [];
  let offset = from;
  for (;;) {
    const read = ring.read(offset, maxBytes);
    if (read.kind !== 'data') return runs;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] === read.channel) last[1] += decoded(read);
    else runs.push([read.channel, decoded(read)]);
    offset += read.data.byteLength;
  }
}

test('appends return the offset range they took; offsets continue across appends', (t) => {
  const ring = new OutputRing({ capacityBytes: 64 });
  t.deepEqual(ring.append('stdout', text('hello ')), { start: 0, end: 6 });
  t.deepEqual(ring.append('stdout', text('world')), { start: 6, end: 11 });
  t.deepEqual(ring.append('stdout', new Uint8Array(0)), { start: 11, end: 11 });
  t.is(ring.endOffset, 11);
  t.is(ring.startOffset, 0);
  t.deepEqual(drain(ring, 0), [['stdout', 'hello world']]);
  t.deepEqual(drain(ring, 6), [['stdout', 'world']]);
});

test('a read at the end offset is caught-up; a read of evicted bytes says where the ring starts', (t) => {
  const ring = new OutputRing({ capacityBytes: 8 });
  ring.append('stdout', text('0123456789'));
  t.deepEqual(ring.read(10, 4), { kind: 'caught-up', offset: 10 });
  t.deepEqual(ring.read(1, 4), { kind: 'truncated', firstAvailableOffset: 2 });
  t.is(decoded(ring.read(2, 100)), '23456789');
});

test('reads are bounded by maxBytes and never cross a channel change', (t) => {
  const ring = new OutputRing({ capacityBytes: 64 });
  ring.append('stdout', text('out1'));
  ring.append('stderr', text('err'));
  ring.append('stdout', text('out2'));
  const first = ring.read(0, 2);
  t.like(first, { kind: 'data', offset: 0, channel: 'stdout' });
  t.is(decoded(first), 'ou');
  t.like(ring.read(2, 100), { kind: 'data', channel: 'stdout' });
  t.is(decoded(ring.read(2, 100)), 't1');
  t.like(ring.read(4, 100), { kind: 'data', channel: 'stderr' });
  t.deepEqual(drain(ring, 0), [
    ['stdout', 'out1'],
    ['stderr', 'err'],
    ['stdout', 'out2'],
  ]);
});

test('an append larger than the capacity keeps its newest bytes and still counts them all', (t) => {
  const ring = new OutputRing({ capacityBytes: 4 });
  ring.append('stdout', text('ab'));
  t.deepEqual(ring.append('stderr', text('0123456789')), { start: 2, end: 12 });
  t.is(ring.startOffset, 8);
  t.deepEqual(drain(ring, 8), [['stderr', '6789']]);
});

test('by default a ring starts with 4 KiB whatever its capacity: an idle session holds no more', (t) => {
  t.is(new OutputRing({ capacityBytes: 1_310_720 }).allocatedBytes, 4096);
  t.is(new OutputRing({ capacityBytes: 100 }).allocatedBytes, 100);
});

test('the buffer starts small and doubles up to the capacity, never beyond', (t) => {
  const ring = new OutputRing({ capacityBytes: 1000, initialBytes: 16 });
  t.is(ring.allocatedBytes, 16);
  ring.append('stdout', new Uint8Array(17));
  t.is(ring.allocatedBytes, 32);
  ring.append('stdout', new Uint8Array(500));
  t.is(ring.allocatedBytes, 517);
  ring.append('stdout', new Uint8Array(600));
  t.is(ring.allocatedBytes, 1000);
  t.is(ring.heldBytes, 1000);
  t.is(ring.startOffset, 117);
});

test('a PTY session (stdout only) reads back as one stdout run after wrapping', (t) => {
  const ring = new OutputRing({ capacityBytes: 16 });
  for (let i = 0; i < 10; i++) ring.append('stdout', text('abc'));
  t.deepEqual(drain(ring, ring.startOffset), [['stdout', 'abc'.repeat(10).slice(14)]]);
});

test('bad arguments are refused with RangeError, naming the limit', (t) => {
  t.throws(() => new OutputRing({ capacityBytes: 0 }), { instanceOf: RangeError, message: /resumeBufferBytes/ });
  t.throws(() => new OutputRing({ capacityBytes: 1.5 }), { instanceOf: RangeError });
  const ring = new OutputRing({ capacityBytes: 8 });
  ring.append('stdout', text('abc'));
  t.throws(() => ring.read(4, 1), { instanceOf: RangeError });
  t.throws(() => ring.read(-1, 1), { instanceOf: RangeError });
  t.throws(() => ring.read(0, 0), { instanceOf: RangeError });
});

interface ModelByte {
  readonly value: number;
  readonly channel: OutputChannel;
}

for (const seed of propertySeeds(12)) {
  test(`property (seed ${seed}): random appends and reads return exactly the model's bytes, channels and offsets`, (t) => {
    const random = new SeededRandom(seed);
    const capacity = random.between(1, 300);
    const ring = new OutputRing({ capacityBytes: capacity, initialBytes: random.between(1, 64) });
    const model: ModelByte[] = [];
    const exec = random.chance(0.7);
    for (let step = 0; step < 2000; step++) {
      if (random.chance(0.5)) {
        const channel: OutputChannel = exec && random.chance(0.4) ? 'stderr' : 'stdout';
        const bytes = random.bytes(random.chance(0.05) ? random.between(capacity, capacity * 3) : random.between(0, Math.max(1, capacity >> 2)));
        const before = ring.endOffset;
        const range = ring.append(channel, bytes);
        if (range.start !== before || range.end !== before + bytes.byteLength) return t.fail(`append range ${JSON.stringify(range)} at ${before}`);
        for (const value of bytes) model.push({ value, channel });
      }
      const end = model.length;
      if (ring.endOffset !== end || ring.startOffset !== Math.max(0, end - capacity) || ring.heldBytes > capacity) {
        return t.fail(`offsets ${ring.startOffset}..${ring.endOffset}, model end ${end}, capacity ${capacity}`);
      }
      // Read everything from a random offset and compare byte by byte.
      let offset = random.between(0, end);
      const max = random.between(1, capacity + 2);
      const first = ring.read(offset, max);
      if (offset < ring.startOffset) {
        if (first.kind !== 'truncated' || first.firstAvailableOffset !== ring.startOffset) return t.fail(`read ${offset}: ${first.kind}`);
        offset = ring.startOffset;
      }
      for (;;) {
        const read = ring.read(offset, max);
        if (read.kind === 'caught-up') break;
        if (read.kind !== 'data' || read.offset !== offset || read.data.byteLength < 1 || read.data.byteLength > max) return t.fail(`read ${offset}: ${read.kind}`);
        for (let i = 0; i < read.data.byteLength; i++) {
          const expected = model[offset + i];
          if (expected === undefined || expected.value !== read.data[i] || expected.channel !== read.channel) {
            return t.fail(`seed ${seed} step ${step}: byte ${offset + i} differs`);
          }
        }
        offset += read.data.byteLength;
      }
      if (offset !== end) return t.fail(`reads stopped at ${offset}, end ${end}`);
    }
    t.pass();
  });
}

test('reads stop at the wrap point and the next read continues from the buffer start', (t) => {
  const ring = new OutputRing({ capacityBytes: 8, initialBytes: 8 });
  ring.append('stdout', text('012345'));
  ring.append('stdout', text('6789'));
  const first = ring.read(2, 100);
  t.is(decoded(first), '234567');
  t.is(decoded(ring.read(8, 100)), '89');
});

test('a stderr byte among stdout, after the ring wrapped many times, keeps its channel', (t) => {
  const ring = new OutputRing({ capacityBytes: 13 });
  for (let i = 0; i < 50; i++) ring.append('stdout', text('xyz'));
  ring.append('stderr', text('E'));
  ring.append('stdout', text('abcd'));
  t.deepEqual(drain(ring, ring.startOffset), [
    ['stdout', 'xyz'.repeat(50).slice(142)],
    ['stderr', 'E'],
    ['stdout', 'abcd'],
  ]);
});
