import test from 'ava';
import {
  canSend,
  createOutputFlow,
  isDrained,
  nextFrameBytes,
  onAck,
  onProduced,
  onResume,
  onSent,
  outputCredit,
  sendableBytes,
  shouldPauseSource,
  shouldResumeSource,
  unsentBytes,
  withSourcePaused,
  type OutputFlow,
} from '../../../server/session/flow-window.js';
import { propertySeeds, SeededRandom } from './seeded-random.js';

const limits = { outputWindowBytes: 100, sourceHighWaterBytes: 40, sourceLowWaterBytes: 10 };
const flowAt = (produced: number, sent: number, acked: number, sourcePaused = false): OutputFlow => ({
  limits,
  producedOffset: produced,
  sentOffset: sent,
  ackedOffset: acked,
  sourcePaused,
});

test('a new flow has nothing to send and the full window as credit', (t) => {
  const flow = createOutputFlow(limits);
  t.is(outputCredit(flow), 100);
  t.is(sendableBytes(flow), 0);
  t.false(canSend(flow, 1));
  t.true(isDrained(flow));
});

test('credit, unsent and sendable bytes, as a table', (t) => {
  const rows: Array<[produced: number, sent: number, acked: number, credit: number, unsent: number, sendable: number]> = [
    [0, 0, 0, 100, 0, 0],
    [50, 0, 0, 100, 50, 50],
    [500, 0, 0, 100, 500, 100],
    [500, 100, 0, 0, 400, 0],
    [500, 100, 30, 30, 400, 30],
    [500, 100, 100, 100, 400, 100],
    [120, 100, 100, 100, 20, 20],
    [120, 120, 120, 100, 0, 0],
  ];
  for (const [produced, sent, acked, credit, unsent, sendable] of rows) {
    const flow = flowAt(produced, sent, acked);
    t.deepEqual([outputCredit(flow), unsentBytes(flow), sendableBytes(flow)], [credit, unsent, sendable], `produced ${produced}, sent ${sent}, acked ${acked}`);
  }
});

test('canSend: at least one byte, at most the sendable bytes, integers only', (t) => {
  const flow = flowAt(500, 100, 30);
  t.true(canSend(flow, 1));
  t.true(canSend(flow, 30));
  t.false(canSend(flow, 31));
  t.false(canSend(flow, 0));
  t.false(canSend(flow, 1.5));
  t.false(canSend(flow, Number.NaN));
});

test('nextFrameBytes leaves room for the 17-byte output header of maxDataFrameBytes', (t) => {
  t.is(nextFrameBytes(flowAt(500, 0, 0), 1024), 100);
  t.is(nextFrameBytes(flowAt(500, 0, 0), 50), 33);
  t.is(nextFrameBytes(flowAt(500, 100, 0), 1024), 0);
});

test('onSent beyond the window or beyond the produced output is a bug of the caller: it throws', (t) => {
  t.throws(() => onSent(flowAt(500, 100, 30), 31), { instanceOf: RangeError, message: /credit 30/ });
  t.throws(() => onSent(flowAt(10, 10, 0), 1), { instanceOf: RangeError, message: /unsent 0/ });
  t.is(onSent(flowAt(500, 100, 30), 30).sentOffset, 130);
});

test('acks: forward within what was sent; a repeat changes nothing; backwards or beyond sent is SG_PROTO_OUT_OF_ORDER', (t) => {
  const flow = flowAt(500, 100, 30);
  const rows: Array<[offset: number, result: number | 'SG_PROTO_OUT_OF_ORDER']> = [
    [30, 30],
    [31, 31],
    [100, 100],
    [29, 'SG_PROTO_OUT_OF_ORDER'],
    [0, 'SG_PROTO_OUT_OF_ORDER'],
    [101, 'SG_PROTO_OUT_OF_ORDER'],
    [500, 'SG_PROTO_OUT_OF_ORDER'],
    [-1, 'SG_PROTO_OUT_OF_ORDER'],
    [30.5, 'SG_PROTO_OUT_OF_ORDER'],
  ];
  for (const [offset, expected] of rows) {
    const result = onAck(flow, offset);
    t.is(result.ok ? result.flow.ackedOffset : result.error.code, expected, `ack ${offset}`);
  }
  const same = onAck(flow, 30);
  t.true(same.ok && same.flow === flow, 'a repeated ack returns the same state');
});

test('resume: continues from the requested offset, rewinding what the lost connection had sent', (t) => {
  const result = onResume(flowAt(500, 100, 30), 70, 0);
  if (!result.ok) return t.fail(result.error.message);
  t.is(result.resumedOffset, 70);
  t.is(result.lostBytes, 0);
  t.like(result.flow, { sentOffset: 70, ackedOffset: 70, producedOffset: 500 });
  t.is(outputCredit(result.flow), 100);
});

test('resume: offsets before the ack or beyond what was sent are SG_PROTO_OUT_OF_ORDER; the edges are fine', (t) => {
  const flow = flowAt(500, 100, 30);
  const rows: Array<[requested: number, result: number | 'SG_PROTO_OUT_OF_ORDER']> = [
    [30, 30],
    [100, 100],
    [29, 'SG_PROTO_OUT_OF_ORDER'],
    [101, 'SG_PROTO_OUT_OF_ORDER'],
    [Number.NaN, 'SG_PROTO_OUT_OF_ORDER'],
  ];
  for (const [requested, expected] of rows) {
    const result = onResume(flow, requested, 0);
    t.is(result.ok ? result.resumedOffset : result.error.code, expected, `resume at ${requested}`);
  }
});

test('resume: bytes that left the ring are reported as lost, and output continues at the oldest held', (t) => {
  const result = onResume(flowAt(500, 100, 30), 50, 80);
  if (!result.ok) return t.fail(result.error.message);
  t.is(result.resumedOffset, 80);
  t.is(result.lostBytes, 30);
  t.like(result.flow, { sentOffset: 80, ackedOffset: 80 });
});

test('the source pauses at the high mark and resumes at the low mark (hysteresis), as a table', (t) => {
  const rows: Array<[unsent: number, paused: boolean, pause: boolean, resume: boolean]> = [
    [0, false, false, false],
    [39, false, false, false],
    [40, false, true, false],
    [400, false, true, false],
    [40, true, false, false],
    [11, true, false, false],
    [10, true, false, true],
    [0, true, false, true],
  ];
  for (const [unsent, paused, pause, resume] of rows) {
    const flow = flowAt(1000 + unsent, 1000, 1000, paused);
    t.deepEqual([shouldPauseSource(flow), shouldResumeSource(flow)], [pause, resume], `unsent ${unsent}, paused ${paused}`);
  }
  t.true(withSourcePaused(flowAt(0, 0, 0), true).sourcePaused);
  const same = flowAt(0, 0, 0);
  t.is(withSourcePaused(same, false), same);
});

test('limits are checked: positive window and high mark, low mark below the high mark', (t) => {
  t.throws(() => createOutputFlow({ ...limits, outputWindowBytes: 0 }), { instanceOf: RangeError, message: /outputWindowBytes/ });
  t.throws(() => createOutputFlow({ ...limits, sourceHighWaterBytes: 0 }), { instanceOf: RangeError, message: /sourceHighWaterBytes/ });
  t.throws(() => createOutputFlow({ ...limits, sourceLowWaterBytes: 40 }), { instanceOf: RangeError, message: /sourceLowWaterBytes/ });
  t.throws(() => onProduced(createOutputFlow(limits), -1), { instanceOf: RangeError });
});

for (const seed of propertySeeds(12)) {
  test(`property (seed ${seed}): random produce/send/ack/resume never exceed the window, and the ring bound holds`, (t) => {
    const random = new SeededRandom(seed);
    const window = random.between(1, 300);
    const high = random.between(1, 200);
    const low = random.between(0, high - 1);
    const readBytes = random.between(1, 64);
    let flow = createOutputFlow({ outputWindowBytes: window, sourceHighWaterBytes: high, sourceLowWaterBytes: low });
    let maxRetained = 0;
    for (let step = 0; step < 5000; step++) {
      const roll = random.int(10);
      if (roll < 3 && !flow.sourcePaused) {
        flow = onProduced(flow, random.between(1, readBytes));
        // The shell checks right after each read, in the same tick.
        if (shouldPauseSource(flow)) flow = withSourcePaused(flow, true);
      } else if (roll < 6) {
        const bytes = random.between(1, window);
        if (canSend(flow, bytes)) flow = onSent(flow, bytes);
        else t.throws(() => onSent(flow, bytes));
      } else if (roll < 9) {
        const offset = random.between(Math.max(0, flow.ackedOffset - 5), flow.sentOffset + 5);
        const result = onAck(flow, offset);
        t.is(result.ok, offset >= flow.ackedOffset && offset <= flow.sentOffset);
        if (result.ok) flow = result.flow;
      } else {
        const requested = random.between(flow.ackedOffset, flow.sentOffset);
        const result = onResume(flow, requested, 0);
        if (!result.ok) return t.fail(result.error.message);
        flow = result.flow;
      }
      if (shouldResumeSource(flow)) flow = withSourcePaused(flow, false);
      const { producedOffset: produced, sentOffset: sent, ackedOffset: acked } = flow;
      if (!(acked <= sent && sent <= produced)) return t.fail(`order broken: acked ${acked}, sent ${sent}, produced ${produced}`);
      if (sent - acked > window) return t.fail(`window exceeded: ${sent - acked} > ${window}`);
      maxRetained = Math.max(maxRetained, produced - acked);
    }
    // What the ring must hold never passed window + high mark + one read (requiredRingBytes).
    t.true(maxRetained < window + high + readBytes, `retained ${maxRetained}, bound ${window + high + readBytes}`);
  });
}
