/**
 * Behaviour: the scanner of the launcher's end marker (launcher-contract.md, "End of PTY
 * output") passes every byte before the marker on exactly once and in order, however the
 * stream is cut into chunks; strips the marker; ends there; lets anything that only resembles
 * the marker (another nonce, a cut-off prefix) through as ordinary output; and gives back
 * what it held when the output ends without a marker.
 */
import test from 'ava';

import { SIGNAL_NAMES } from '../../../client-sdk/src/protocol/frames.js';
import { PTY_END_NONCE_BYTES, PTY_END_RELEASE_SIGNAL, PtyEndScanner, newPtyEndNonce, ptyEndMarker } from '../../../server/sandbox/pty-end-marker.js';

const NONCE = '0123456789abcdef0123456789abcdef';
const MARKER = ptyEndMarker(NONCE);
const BEFORE = Buffer.from('last line\r\n\x1b]0;a title\x07\x1b]sandgate-end;almost\r\n', 'latin1');
const AFTER = Buffer.from('echo of late input', 'latin1');

/** Feeds `chunks` in order; returns what was passed on and whether (and at which chunk) it ended. */
function scan(scanner: PtyEndScanner, chunks: readonly Buffer[]): { output: Buffer; endedAt: number } {
  const parts: Buffer[] = [];
  let endedAt = -1;
  chunks.forEach((chunk, index) => {
    const scanned = scanner.push(chunk);
    parts.push(Buffer.from(scanned.data));
    if (scanned.ended && endedAt === -1) endedAt = index;
  });
  return { output: Buffer.concat(parts), endedAt };
}

test('the marker is ESC ] sandgate-end ; nonce BEL and a nonce is 128 random bits in lowercase hex', (t) => {
  t.deepEqual(MARKER, Buffer.from(`\x1b]sandgate-end;${NONCE}\x07`, 'latin1'));
  const nonce = newPtyEndNonce();
  t.regex(nonce, /^[0-9a-f]{32}$/);
  t.is(nonce.length, PTY_END_NONCE_BYTES * 2);
  t.not(newPtyEndNonce(), nonce);
});

test('the marker is in memory of its own, not a slice of the Buffer pool (each session would keep a whole 8 KiB pool alive)', (t) => {
  t.is(MARKER.byteOffset, 0);
  t.is(MARKER.buffer.byteLength, MARKER.byteLength);
});

test('the output before the marker passes whole, the marker is stripped, and nothing after it is output', (t) => {
  const scanner = new PtyEndScanner(MARKER);
  const { output, endedAt } = scan(scanner, [Buffer.concat([BEFORE, MARKER, AFTER]), AFTER]);
  t.deepEqual(output, BEFORE);
  t.is(endedAt, 0);
  t.true(scanner.ended);
  t.deepEqual(scanner.flush(), Buffer.alloc(0));
});

test('a stream cut at every position, in two chunks, gives the same output and ends in the chunk that completes the marker', (t) => {
  const stream = Buffer.concat([BEFORE, MARKER, AFTER]);
  const markerEnd = BEFORE.length + MARKER.length;
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const scanner = new PtyEndScanner(MARKER);
    const { output, endedAt } = scan(scanner, [stream.subarray(0, cut), stream.subarray(cut)]);
    t.deepEqual(output, BEFORE, `cut at ${cut}`);
    t.is(endedAt, cut >= markerEnd ? 0 : 1, `cut at ${cut}`);
  }
});

test('a stream cut into 1-byte chunks, and the marker cut at every pair of positions, still ends exactly at the marker', (t) => {
  const stream = Buffer.concat([BEFORE, MARKER, AFTER]);
  const single = scan(new PtyEndScanner(MARKER), [...stream].map((byte) => Buffer.from([byte])));
  t.deepEqual(single.output, BEFORE);
  t.is(single.endedAt, BEFORE.length + MARKER.length - 1);
  for (let first = BEFORE.length; first < BEFORE.length + MARKER.length; first += 1) {
    for (let second = first; second <= BEFORE.length + MARKER.length; second += 1) {
      const { output } = scan(new PtyEndScanner(MARKER), [stream.subarray(0, first), stream.subarray(first, second), stream.subarray(second)]);
      t.deepEqual(output, BEFORE, `cuts at ${first} and ${second}`);
    }
  }
});

test('a forged marker with another nonce is ordinary output, wherever it is cut, and the real one still ends the output', (t) => {
  const forged = ptyEndMarker('ffffffffffffffffffffffffffffffff');
  const truncated = MARKER.subarray(0, MARKER.length - 1); // the real nonce without its BEL
  const text = Buffer.concat([BEFORE, forged, truncated, Buffer.from('\r\n')]);
  const stream = Buffer.concat([text, MARKER]);
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const scanner = new PtyEndScanner(MARKER);
    const { output, endedAt } = scan(scanner, [stream.subarray(0, cut), stream.subarray(cut)]);
    t.deepEqual(output, text, `cut at ${cut}`);
    t.not(endedAt, -1);
  }
});

test('without a marker every byte passes, a held-back prefix included once the output ends', (t) => {
  const stream = Buffer.concat([BEFORE, MARKER.subarray(0, 20)]);
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const scanner = new PtyEndScanner(MARKER);
    const { output, endedAt } = scan(scanner, [stream.subarray(0, cut), stream.subarray(cut)]);
    t.is(endedAt, -1);
    t.false(scanner.ended);
    t.is(scanner.heldBytes, 20, `cut at ${cut}: the marker's first 20 bytes are held back`);
    t.deepEqual(Buffer.concat([output, scanner.flush()]), stream, `cut at ${cut}`);
    t.is(scanner.heldBytes, 0);
  }
});

test('only a possible beginning of the marker is held back: plain output passes at once', (t) => {
  const scanner = new PtyEndScanner(MARKER);
  t.deepEqual(scanner.push(Buffer.from('plain \x1b[1mbold\x1b[0m')).data, Buffer.from('plain \x1b[1mbold\x1b[0m'));
  t.is(scanner.heldBytes, 0);
  t.deepEqual(scanner.push(Buffer.from('ends with ESC ]\x1b]')).data, Buffer.from('ends with ESC ]'));
  t.is(scanner.heldBytes, 2);
  t.deepEqual(scanner.push(Buffer.from('0;title\x07')).data, Buffer.from('\x1b]0;title\x07'), 'an OSC of another kind goes out whole');
  t.is(scanner.heldBytes, 0);
});

test('a marker whose first byte recurs in it is refused', (t) => {
  t.throws(() => new PtyEndScanner(Buffer.from('\x1bab\x1b')), { instanceOf: RangeError });
  t.throws(() => new PtyEndScanner(Buffer.from('\x1b')), { instanceOf: RangeError });
});

test('the release signal is not one a client can send: a late client signal cannot release the launcher before the tail was read', (t) => {
  t.is(PTY_END_RELEASE_SIGNAL, 'SIGCONT');
  t.false(SIGNAL_NAMES.some((name) => `SIG${name}` === PTY_END_RELEASE_SIGNAL));
});
