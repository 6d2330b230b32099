import test from 'ava';
import { lifetimeWarningMs } from '../../../server/session/session-timers.js';

test('the lifetime warning comes a minute ahead, or a tenth of a shorter lifetime ahead', (t) => {
  t.is(lifetimeWarningMs(24 * 3600 * 1000), 60_000);
  t.is(lifetimeWarningMs(600_000), 60_000);
  t.is(lifetimeWarningMs(300_000), 30_000);
  t.is(lifetimeWarningMs(3000), 300);
  t.is(lifetimeWarningMs(5), 0, 'no warning for a lifetime too short to act on one');
});
