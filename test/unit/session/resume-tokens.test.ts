import test from 'ava';
import { createHash } from 'node:crypto';
import { PROTOCOL_LIMITS } from '../../../client-sdk/src/protocol/index.js';
import { RESUME_TOKEN_BYTES, ResumeTokenStore, type RedeemResult } from '../../../server/session/resume-tokens.js';

const alice = { tenant: 'acme', user: 'alice', sessionId: 'session-a1' };

/** A store on a hand-driven clock. */
function storeWithClock(): { store: ResumeTokenStore; clock: { now: number } } {
  const clock = { now: 1_000 };
  return { store: new ResumeTokenStore({ now: () => clock.now }), clock };
}

const outcome = (result: RedeemResult): string => (result.ok ? 'ok' : result.error.code);

test('a token is 32 random bytes in base64url (43 characters, within the protocol bounds)', (t) => {
  const { store } = storeWithClock();
  const token = store.issue(alice, 60_000);
  t.regex(token, /^[A-Za-z0-9_-]{43}$/);
  t.is(Buffer.from(token, 'base64url').byteLength, RESUME_TOKEN_BYTES);
  t.true(token.length >= PROTOCOL_LIMITS.resumeTokenChars.min && token.length <= PROTOCOL_LIMITS.resumeTokenChars.max);
  t.not(store.issue({ ...alice, sessionId: 'session-b2' }, 60_000), token);
});

test('the owner redeems the token and gets a new one; once confirmed, the old one is refused', (t) => {
  const { store } = storeWithClock();
  const first = store.issue(alice, 60_000);
  const redeemed = store.redeem(first, alice);
  if (!redeemed.ok) return t.fail(redeemed.error.message);
  t.not(redeemed.token, first);
  store.confirm(alice.sessionId);
  t.is(outcome(store.redeem(first, alice)), 'SG_RESUME_REJECTED');
  t.is(outcome(store.redeem(redeemed.token, alice)), 'ok');
});

test('a resume whose hello was lost can be retried with the same token until the client confirms', (t) => {
  const { store } = storeWithClock();
  const first = store.issue(alice, 60_000);
  const lostHello = store.redeem(first, alice);
  const retried = store.redeem(first, alice);
  if (!lostHello.ok || !retried.ok) return t.fail('the retry was refused');
  t.is(outcome(store.redeem(lostHello.token, alice)), 'SG_RESUME_REJECTED', 'the token of the lost hello was replaced by the retry');
  store.confirm(alice.sessionId);
  t.is(outcome(store.redeem(first, alice)), 'SG_RESUME_REJECTED');
  t.is(outcome(store.redeem(retried.token, alice)), 'ok');
});

test('presenting the newest token spends every older one, even unconfirmed', (t) => {
  const { store } = storeWithClock();
  const first = store.issue(alice, 60_000);
  const second = store.redeem(first, alice);
  if (!second.ok) return t.fail('refused');
  const third = store.redeem(second.token, alice);
  t.true(third.ok);
  t.is(outcome(store.redeem(first, alice)), 'SG_RESUME_REJECTED');
  store.confirm(alice.sessionId);
  store.confirm(alice.sessionId);
  t.is(outcome(store.redeem(second.token, alice)), 'SG_RESUME_REJECTED');
});

test('issuing again (a new hello) voids the previous token', (t) => {
  const { store } = storeWithClock();
  const old = store.issue(alice, 60_000);
  const fresh = store.issue(alice, 60_000);
  t.is(outcome(store.redeem(old, alice)), 'SG_RESUME_REJECTED');
  t.is(outcome(store.redeem(fresh, alice)), 'ok');
});

test('another tenant, another user, another session id, a guess, a tampered token: one refusal, one message', (t) => {
  const { store } = storeWithClock();
  const token = store.issue(alice, 60_000);
  const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  const attempts: Array<[string, RedeemResult]> = [
    ['other tenant', store.redeem(token, { ...alice, tenant: 'globex' })],
    ['other user', store.redeem(token, { ...alice, user: 'mallory' })],
    ['other session', store.redeem(token, { ...alice, sessionId: 'session-zz' })],
    ['guess', store.redeem('A'.repeat(43), alice)],
    ['tampered', store.redeem(tampered, alice)],
    ['empty', store.redeem('', alice)],
  ];
  const messages = new Set<string>();
  for (const [what, result] of attempts) {
    t.is(outcome(result), 'SG_RESUME_REJECTED', what);
    if (!result.ok) {
      messages.add(result.error.message);
      t.deepEqual(result.error.details, {}, `${what}: no details`);
      t.false(result.error.message.includes(token), `${what}: the message does not carry the token`);
    }
  }
  t.is(messages.size, 1, 'every refusal reads the same');
  t.is(outcome(store.redeem(token, alice)), 'ok', 'failed attempts do not spend the owner\'s token');
});

test('after a drop the token works until the grace period ends, then never', (t) => {
  const { store, clock } = storeWithClock();
  const token = store.issue(alice, 5_000);
  store.detached(alice.sessionId);
  clock.now += 4_999;
  const redeemed = store.redeem(token, alice);
  if (!redeemed.ok) return t.fail('refused within the grace period');
  store.detached(alice.sessionId);
  clock.now += 5_000;
  t.is(outcome(store.redeem(redeemed.token, alice)), 'SG_RESUME_REJECTED');
  t.is(store.size, 0, 'an expired record is dropped');
});

test('while attached the token does not expire; a second detach does not extend the first', (t) => {
  const { store, clock } = storeWithClock();
  const token = store.issue(alice, 1_000);
  clock.now += 1_000_000;
  store.detached(alice.sessionId);
  clock.now += 600;
  store.detached(alice.sessionId);
  clock.now += 600;
  t.is(outcome(store.redeem(token, alice)), 'SG_RESUME_REJECTED');
});

test('attached() stops the grace clock; resumeGraceMs 0 makes the token useless after a drop', (t) => {
  const { store, clock } = storeWithClock();
  const token = store.issue(alice, 1_000);
  store.detached(alice.sessionId);
  store.attached(alice.sessionId);
  clock.now += 5_000;
  t.is(outcome(store.redeem(token, alice)), 'ok');
  const noGrace = store.issue({ ...alice, sessionId: 'session-c3' }, 0);
  store.detached('session-c3');
  t.is(outcome(store.redeem(noGrace, { ...alice, sessionId: 'session-c3' })), 'SG_RESUME_REJECTED');
});

test('revoke is idempotent; prune drops only expired records', (t) => {
  const { store, clock } = storeWithClock();
  const token = store.issue(alice, 60_000);
  store.issue({ ...alice, sessionId: 'session-d4' }, 10);
  store.issue({ ...alice, sessionId: 'session-e5' }, 10);
  store.detached('session-d4');
  clock.now += 10;
  t.is(store.prune(), 1);
  t.is(store.size, 2);
  store.revoke(alice.sessionId);
  store.revoke(alice.sessionId);
  t.is(outcome(store.redeem(token, alice)), 'SG_RESUME_REJECTED');
  t.is(store.size, 1);
});

test('token bytes come from the injected source, exactly 32 of them; a bad grace period is refused', (t) => {
  const fixed = new Uint8Array(RESUME_TOKEN_BYTES).fill(7);
  const store = new ResumeTokenStore({ now: () => 0, randomBytes: () => fixed });
  const token = store.issue(alice, 1);
  t.is(token, Buffer.from(fixed).toString('base64url'));
  // The stored digest is not itself a token: presenting it is refused like any guess.
  const digest = createHash('sha256').update(token).digest('base64url');
  t.is(outcome(store.redeem(digest, alice)), 'SG_RESUME_REJECTED');
  t.throws(() => new ResumeTokenStore({ now: () => 0, randomBytes: () => new Uint8Array(8) }).issue(alice, 1), { instanceOf: RangeError });
  t.throws(() => store.issue(alice, -1), { instanceOf: RangeError, message: /resumeGraceMs/ });
});
