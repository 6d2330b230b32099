/**
 * StdinPump (server/session/stdin-pump.ts): the keystroke path writes synchronously when
 * nothing is pending, the rest keeps its order through the queued path, the pace is charged
 * only for bytes the process took, and every byte is acknowledged once. The process is a
 * recording stand-in here (a pure queue under test); the real PTY path is in
 * test/integration/pty-input.test.ts and the gateway's pty-stdin tests.
 */
import test from 'ava';

import type { RateLimit } from '../../../server/session/input-limiter.js';
import { StdinPump } from '../../../server/session/stdin-pump.js';

const UNLIMITED: RateLimit = { perSecond: 0, burst: 1 };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (chunks: readonly Uint8Array[]): string => chunks.map((c) => new TextDecoder().decode(c)).join('');

interface Recorder {
  readonly pump: StdinPump;
  /** What the synchronous path took, in order. */
  readonly now: Uint8Array[];
  /** What the queued path was asked to write, in order (copies). */
  readonly queued: Uint8Array[];
  /** Offsets reported to `written` (each a stdin-ack). */
  readonly acks: number[];
  /** Settles the oldest queued write. */
  finishWrite(): Promise<void>;
  closed: boolean;
}

function recorder(options: { takeNow?: (chunk: Uint8Array) => number; limit?: RateLimit; clock?: () => number } = {}): Recorder {
  const pending: (() => void)[] = [];
  const state: Recorder = {
    now: [],
    queued: [],
    acks: [],
    closed: false,
    pump: undefined as unknown as StdinPump,
    finishWrite: async () => {
      pending.shift()?.();
      // The pump continues in the write promise's reaction: let it run.
      await Promise.resolve();
      await Promise.resolve();
    },
  };
  const takeNow = options.takeNow;
  (state as { pump: StdinPump }).pump = new StdinPump({
    limit: options.limit ?? UNLIMITED,
    now: options.clock ?? (() => 0),
    write: (chunk) => {
      state.queued.push(chunk.slice());
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    ...(takeNow === undefined
      ? {}
      : {
          writeNow: (chunk: Uint8Array) => {
            const taken = takeNow(chunk);
            state.now.push(chunk.slice(0, taken));
            return taken;
          },
        }),
    closeInput: () => {
      state.closed = true;
    },
    written: (offset) => state.acks.push(offset),
  });
  return state;
}

test('an idle pump hands a keystroke to the process synchronously and acknowledges it at once', (t) => {
  const r = recorder({ takeNow: (chunk) => chunk.byteLength });
  r.pump.push(bytes('a'));
  t.is(text(r.now), 'a');
  t.deepEqual(r.queued, [], 'nothing went through the queued path');
  t.deepEqual(r.acks, [1]);
  t.is(r.pump.written, 1);
  t.is(r.pump.queuedBytes, 0);
});

test('the synchronous path writes from the message itself, not a copy', (t) => {
  const message = bytes('xyz');
  let seen: Uint8Array | undefined;
  const pump = new StdinPump({
    limit: UNLIMITED,
    now: () => 0,
    write: () => Promise.resolve(),
    writeNow: (chunk) => {
      seen = chunk;
      return chunk.byteLength;
    },
    closeInput: () => undefined,
    written: () => undefined,
  });
  pump.push(message);
  t.is(seen?.buffer, message.buffer);
});

test('what the process does not take at once is copied and written in order through the queue', async (t) => {
  const message = bytes('hello');
  const r = recorder({ takeNow: () => 2 });
  r.pump.push(message);
  t.is(text(r.now), 'he');
  t.deepEqual(r.acks, [2], 'the part taken is acknowledged at once');
  t.is(text(r.queued), 'llo');
  message.fill(0); // the WebSocket message's memory may be reused once push returns
  t.is(text(r.queued), 'llo', 'the queued rest is a copy');
  await r.finishWrite();
  t.deepEqual(r.acks, [2, 5]);
  t.is(r.pump.written, 5);
});

test('while a write is pending, later input queues behind it instead of overtaking it', async (t) => {
  let full = true;
  const r = recorder({ takeNow: (chunk) => (full ? 0 : chunk.byteLength) });
  r.pump.push(bytes('one'));
  t.is(text(r.queued), 'one', 'a full terminal sends the chunk to the queued path');
  full = false;
  r.pump.push(bytes('two'));
  t.is(text(r.now), '', 'the synchronous path is not tried while "one" is pending');
  await r.finishWrite();
  t.is(text(r.queued), 'onetwo', 'the queue writes them in order');
  await r.finishWrite();
  t.deepEqual(r.acks, [3, 6]);
  r.pump.push(bytes('3'));
  t.is(text(r.now), '3', 'idle again: the synchronous path is back');
});

test('the pace is charged only for the bytes the process took', (t) => {
  // 10 bytes of burst, no refill during the test (the clock stands still).
  const limit: RateLimit = { perSecond: 1, burst: 10 };
  let room = 4;
  const r = recorder({ limit, takeNow: (chunk) => Math.min(room, chunk.byteLength) });
  r.pump.push(bytes('abcdefghij'));
  t.is(text(r.now), 'abcd');
  t.is(text(r.queued), 'efghij', 'the 6 bytes not taken are granted from the 6 bytes of burst left');
  room = 100;
  const paced = recorder({ limit, takeNow: (chunk) => Math.min(room, chunk.byteLength) });
  paced.pump.push(bytes('0123456789AB'));
  t.is(text(paced.now), '0123456789', 'the burst caps the synchronous write');
  t.deepEqual(paced.queued, [], 'the rest waits for the pace (a timer), not the queued write');
  paced.pump.dispose();
});

test('stdin-close follows the bytes written synchronously at once', (t) => {
  const r = recorder({ takeNow: (chunk) => chunk.byteLength });
  r.pump.push(bytes('bye'));
  r.pump.requestClose();
  t.true(r.closed);
  t.deepEqual(r.acks, [3]);
});

test('without a synchronous path every chunk goes through the queued write', async (t) => {
  const r = recorder();
  r.pump.push(bytes('exec'));
  t.is(text(r.queued), 'exec');
  t.deepEqual(r.acks, []);
  await r.finishWrite();
  t.deepEqual(r.acks, [4]);
});
