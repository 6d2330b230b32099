/**
 * StdinAckSchedule (server/session/stdin-ack-schedule.ts): when a separate stdin-ack goes out.
 * A manual clock stands in for setTimeout, so every case is exact.
 */
import test from 'ava';

import { StdinAckSchedule, type OneShotTimer } from '../../../server/session/stdin-ack-schedule.js';

interface ManualClock extends OneShotTimer {
  /** Timers started and not cancelled or fired. */
  readonly pending: { callback: () => void; delayMs: number }[];
  /** Fires the oldest pending timer. */
  fire(): void;
}

function manualClock(): ManualClock {
  const pending: { callback: () => void; delayMs: number }[] = [];
  return {
    pending,
    start: (callback, delayMs) => {
      const entry = { callback, delayMs };
      pending.push(entry);
      return entry;
    },
    cancel: (handle) => {
      const at = pending.indexOf(handle as (typeof pending)[number]);
      if (at >= 0) pending.splice(at, 1);
    },
    fire: () => pending.shift()?.callback(),
  };
}

function schedule(windowBytes = 1000, eager = false): { acks: StdinAckSchedule; sent: () => number; clock: ManualClock } {
  const clock = manualClock();
  let sent = 0;
  const acks = new StdinAckSchedule({ windowBytes, delayMs: 5, eager, send: () => (sent += 1), timer: clock });
  return { acks, sent: () => sent, clock };
}

test('a keystroke whose echo goes out first needs no stdin-ack of its own', (t) => {
  const { acks, sent, clock } = schedule();
  acks.written(1);
  t.true(acks.owed);
  t.is(clock.pending.length, 1);
  t.is(clock.pending[0]?.delayMs, 5);
  acks.carried();
  clock.fire();
  t.is(sent(), 0);
});

test('input that no output follows is acknowledged when the delay runs out', (t) => {
  const { acks, sent, clock } = schedule();
  acks.written(3);
  t.is(sent(), 0);
  clock.fire();
  t.is(sent(), 1);
  t.false(acks.owed);
});

test('half the window unacknowledged is acknowledged at once', (t) => {
  const { acks, sent, clock } = schedule(1000);
  acks.written(499);
  t.is(sent(), 0);
  acks.written(500);
  t.is(sent(), 1);
  t.false(acks.owed);
  clock.fire();
  t.is(sent(), 1, 'the timer then finds nothing owed');
});

test('one timer at a time, however many keys are typed before it fires', (t) => {
  const { acks, sent, clock } = schedule();
  for (let key = 1; key <= 10; key += 1) acks.written(key);
  t.is(clock.pending.length, 1);
  clock.fire();
  t.is(sent(), 1);
  acks.written(1);
  t.is(clock.pending.length, 1, 'a new timer once the last one fired');
});

test('nothing is sent after dispose, and the timer is cancelled', (t) => {
  const { acks, sent, clock } = schedule();
  acks.written(1);
  acks.dispose();
  t.is(clock.pending.length, 0);
  acks.written(900);
  acks.now();
  t.is(sent(), 0);
});

test('eager (a pty session): every write is acknowledged at once, no timer', (t) => {
  const { acks, sent, clock } = schedule(1000, true);
  acks.written(1);
  acks.written(1);
  t.is(sent(), 2);
  t.is(clock.pending.length, 0);
  t.false(acks.owed);
});

test('the window and the delay are checked', (t) => {
  t.throws(() => new StdinAckSchedule({ windowBytes: 0, delayMs: 5, eager: false, send: () => undefined }), { instanceOf: RangeError });
  t.throws(() => new StdinAckSchedule({ windowBytes: 10, delayMs: -1, eager: false, send: () => undefined }), { instanceOf: RangeError });
});
