import test from 'ava';
import {
  decideAdmission, decideConnection, decideHost, quotaDenial, refusalForDenial, retryAfterSec,
  type AdmissionInput, type AdmissionLimits,
} from '../../../server/quota/admission.js';

const LIMITS: AdmissionLimits = {
  maxConnections: 100, maxHandshakesInFlight: 10,
  maxSessions: 50, maxSpawnsInFlight: 4, shedAtPressure: 0.9,
  maxSessionsPerTenant: 20, maxSessionsPerUser: 3,
};
const RETRY = { retryAfterSec: 5, jitter: 0 };
const IDLE: AdmissionInput = {
  connection: { draining: false, openConnections: 0, handshakesInFlight: 0 },
  host: { sessions: 0, spawnsInFlight: 0, pressure: 0 },
  counts: { tenant: 0, user: 0 },
};

function input(change: { connection?: Partial<AdmissionInput['connection']>; host?: Partial<AdmissionInput['host']>; counts?: Partial<AdmissionInput['counts']> }): AdmissionInput {
  return {
    connection: { ...IDLE.connection, ...change.connection },
    host: { ...IDLE.host, ...change.host },
    counts: { ...IDLE.counts, ...change.counts },
  };
}

// [case, input, expected code (undefined = admit), expected limit name, expected HTTP status]
const TABLE: [string, AdmissionInput, string | undefined, string | undefined, number | undefined][] = [
  ['an idle gateway admits', IDLE, undefined, undefined, undefined],
  ['just below every limit admits', input({ connection: { openConnections: 89, handshakesInFlight: 9 }, host: { sessions: 49, spawnsInFlight: 3, pressure: 0.89 }, counts: { tenant: 19, user: 2 } }), undefined, undefined, undefined],
  ['draining refuses before anything else', input({ connection: { draining: true, openConnections: 1000 } }), 'SG_SHUTTING_DOWN', 'draining', 503],
  ['open connections at the cap', input({ connection: { openConnections: 100 } }), 'SG_OVERLOADED', 'maxConnections', 503],
  ['handshakes in flight count as connections', input({ connection: { openConnections: 95, handshakesInFlight: 5 } }), 'SG_OVERLOADED', 'maxConnections', 503],
  ['handshakes in flight at their cap', input({ connection: { handshakesInFlight: 10 } }), 'SG_OVERLOADED', 'maxHandshakesInFlight', 503],
  ['host pressure at the shedding threshold', input({ host: { pressure: 0.9 } }), 'SG_OVERLOADED', 'shedAtPressure', 503],
  ['a pressure that is not a number counts as saturated', input({ host: { pressure: Number.NaN } }), 'SG_OVERLOADED', 'shedAtPressure', 503],
  ['sessions on the node at the cap', input({ host: { sessions: 50 } }), 'SG_OVERLOADED', 'maxSessions', 503],
  ['spawns in flight at the cap', input({ host: { spawnsInFlight: 4 } }), 'SG_OVERLOADED', 'maxSpawnsInFlight', 503],
  ['the user at their limit', input({ counts: { user: 3 } }), 'SG_USER_QUOTA', 'maxSessionsPerUser', 429],
  ['the tenant at its limit', input({ counts: { tenant: 20, user: 1 } }), 'SG_TENANT_QUOTA', 'maxSessionsPerTenant', 429],
  ['both at their limit: the user is told first', input({ counts: { tenant: 20, user: 3 } }), 'SG_USER_QUOTA', 'maxSessionsPerUser', 429],
  ['host overload is told before quotas', input({ host: { sessions: 50 }, counts: { user: 3 } }), 'SG_OVERLOADED', 'maxSessions', 503],
];

for (const [what, given, code, limitName, status] of TABLE) {
  test(`admission: ${what}`, (t) => {
    const decision = decideAdmission(given, LIMITS, RETRY);
    if (code === undefined) {
      t.deepEqual(decision, { admit: true });
      return;
    }
    t.like(decision, { admit: false, code, limitName, httpStatus: status, retryAfterSec: 5 });
    if (!decision.admit) t.true(decision.message.includes(decision.limitName) || decision.code === 'SG_SHUTTING_DOWN', decision.message);
  });
}

test('Retry-After is spread over [base, 2 × base) by the jitter, and is at least 1 s', (t) => {
  t.is(retryAfterSec({ retryAfterSec: 5, jitter: 0 }), 5);
  t.is(retryAfterSec({ retryAfterSec: 5, jitter: 0.5 }), 7);
  t.is(retryAfterSec({ retryAfterSec: 5, jitter: 0.9999 }), 9);
  t.is(retryAfterSec({ retryAfterSec: 5, jitter: 7 }), 9, 'a jitter outside [0, 1) is clamped');
  t.is(retryAfterSec({ retryAfterSec: 5, jitter: Number.NaN }), 5);
  t.is(retryAfterSec({ retryAfterSec: 1, jitter: 0 }), 1);
});

test('the gates are usable one by one, as the upgrade handler and the stores call them', (t) => {
  t.deepEqual(decideConnection(IDLE.connection, LIMITS, RETRY), { admit: true });
  t.like(decideHost({ sessions: 0, spawnsInFlight: 4, pressure: 0 }, LIMITS, RETRY), { code: 'SG_OVERLOADED' });
  t.is(quotaDenial({ tenant: 19, user: 2 }, LIMITS), undefined);
  const denial = quotaDenial({ tenant: 20, user: 0 }, LIMITS);
  t.like(denial, { code: 'SG_TENANT_QUOTA', limit: 20, current: 20 });
  if (denial !== undefined) t.like(refusalForDenial(denial, RETRY), { admit: false, httpStatus: 429, message: 'The tenant has maxSessionsPerTenant (20) sessions open.' });
});

test('decisions are frozen values', (t) => {
  const decision = decideAdmission(input({ counts: { user: 3 } }), LIMITS, RETRY);
  t.true(Object.isFrozen(decision));
});
