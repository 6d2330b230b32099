/**
 * OutputPump (server/session/output-pump.ts): cut-through sends a chunk straight from the
 * source's buffer when the client is caught up and its window allows, and otherwise leaves
 * everything to `pump`, so that offsets stay contiguous and nothing is sent twice or beyond
 * the window.
 */
import test from 'ava';

import { OutputPump, type OutputChunk } from '../../../server/session/output-pump.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const decoded = (frames: readonly OutputChunk[]): string => frames.map((f) => new TextDecoder().decode(f.data)).join('');

function pump(outputWindowBytes = 64, maxDataFrameBytes = 1024): OutputPump {
  return new OutputPump({ outputWindowBytes, sourceHighWaterBytes: 32, sourceLowWaterBytes: 8, resumeBufferBytes: 4096, maxDataFrameBytes });
}

/** Frames sent, with a copy of their data taken at send time (as the codec does). */
function sink(): { frames: OutputChunk[]; send: (frame: OutputChunk) => void } {
  const frames: OutputChunk[] = [];
  return { frames, send: (frame) => frames.push({ ...frame, data: frame.data.slice() }) };
}

test('a caught-up client gets the chunk at once, from the source buffer, at the next offset', (t) => {
  const p = pump();
  const out = sink();
  const chunk = bytes('echo');
  let seen: Uint8Array | undefined;
  p.produce('stdout', chunk, (frame) => {
    seen = frame.data;
    out.send(frame);
  });
  t.is(seen, chunk, 'no copy before the send');
  t.deepEqual(out.frames.map((f) => [f.offset, f.channel]), [[0, 'stdout']]);
  t.is(p.sentOffset, 4);
  t.is(p.producedOffset, 4);
  t.true(p.drained);
  t.is(p.pump(out.send), 0, 'pump finds nothing left to send');
  p.produce('stdout', bytes('more'), out.send);
  t.deepEqual(out.frames.map((f) => f.offset), [0, 4]);
  t.is(decoded(out.frames), 'echomore');
});

test('the ring keeps a cut-through chunk for a resume', (t) => {
  const p = pump();
  const out = sink();
  p.produce('stdout', bytes('kept'), out.send);
  const plan = p.planResume(0);
  t.true(plan.ok);
  if (!plan.ok) return;
  p.applyResume(plan);
  const again = sink();
  p.pump(again.send);
  t.is(decoded(again.frames), 'kept', 'the bytes sent by cut-through are resent from the ring');
});

test('without a client the chunk waits in the ring, and is sent by pump later', (t) => {
  const p = pump();
  p.produce('stdout', bytes('early'));
  t.is(p.sentOffset, 0);
  const out = sink();
  p.pump(out.send);
  t.is(decoded(out.frames), 'early');
});

test('older unsent output goes first: no cut-through past it', (t) => {
  const p = pump();
  p.produce('stdout', bytes('old'));
  const out = sink();
  p.produce('stdout', bytes('new'), out.send);
  t.deepEqual(out.frames, [], 'the new chunk is not sent ahead of the old one');
  p.pump(out.send);
  t.is(decoded(out.frames), 'oldnew');
  t.deepEqual(out.frames.map((f) => f.offset), [0]);
});

test('a chunk beyond the window credit is left to pump, which sends what the window allows', (t) => {
  const p = pump(8);
  const out = sink();
  p.produce('stdout', bytes('0123456789'), out.send);
  t.deepEqual(out.frames, [], 'no partial cut-through');
  p.pump(out.send);
  t.is(decoded(out.frames), '01234567', 'the window caps the pumped frames');
  const acked = p.ack(8);
  t.false(acked instanceof Error);
  p.pump(out.send);
  t.is(decoded(out.frames), '0123456789');
});

test('a chunk larger than one frame is left to pump, which splits it', (t) => {
  // maxDataFrameBytes 24: 7 payload bytes per frame after the 17-byte output header.
  const p = pump(64, 24);
  const out = sink();
  p.produce('stdout', bytes('abcdefghijk'), out.send);
  t.deepEqual(out.frames, []);
  p.pump(out.send);
  t.deepEqual(out.frames.map((f) => f.data.byteLength), [7, 4]);
  t.is(decoded(out.frames), 'abcdefghijk');
});
