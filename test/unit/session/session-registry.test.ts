import test from 'ava';
import type { Scope } from '../../../server/auth/principal.js';
import { mayReach, SessionRegistry, type Admission, type LookupPurpose, type RegisteredSession } from '../../../server/session/session-registry.js';

interface FakeSession extends RegisteredSession {
  readonly label: string;
}

let counter = 0;
const session = (tenant: string, user: string, id = `session-${++counter}`): FakeSession => ({ id, owner: { tenant, user }, label: `${tenant}/${user}` });
const principal = (tenant: string, user: string, scopes: Scope[] = ['pty']) => ({ tenant, user, scopes: new Set<Scope>(scopes) });
const code = (admission: Admission): string => (admission.ok ? 'ok' : admission.error.code);
const quota = (maxSessionsPerUser: number, maxSessionsPerTenant: number) => ({ maxSessionsPerUser, maxSessionsPerTenant });
const roomy = quota(5, 10);

test('sessions are found by id by their owner, for resume and attach', (t) => {
  const registry = new SessionRegistry<FakeSession>();
  const mine = session('acme', 'alice');
  t.is(code(registry.add(mine, roomy)), 'ok');
  for (const purpose of ['resume', 'attach'] as const) {
    const found = registry.lookup(principal('acme', 'alice'), mine.id, purpose);
    t.true(found.ok && found.session === mine, purpose);
  }
});

test('isolation, as a table: other tenants never; other users only to attach, with the attach scope', (t) => {
  const owner = { tenant: 'acme', user: 'alice' };
  const rows: Array<[tenant: string, user: string, scopes: Scope[], purpose: LookupPurpose, reachable: boolean]> = [
    ['acme', 'alice', [], 'resume', true],
    ['acme', 'alice', [], 'attach', true],
    ['acme', 'bob', ['pty', 'exec'], 'resume', false],
    ['acme', 'bob', ['pty', 'exec'], 'attach', false],
    ['acme', 'bob', ['attach'], 'resume', false],
    ['acme', 'bob', ['attach'], 'attach', true],
    ['globex', 'alice', ['attach', 'pty', 'exec'], 'resume', false],
    ['globex', 'alice', ['attach', 'pty', 'exec'], 'attach', false],
    ['globex', 'bob', ['attach'], 'attach', false],
    ['ACME', 'alice', ['attach'], 'attach', false],
  ];
  for (const [tenant, user, scopes, purpose, reachable] of rows) {
    t.is(mayReach(principal(tenant, user, scopes), owner, purpose), reachable, `${tenant}/${user} [${scopes.join(',')}] ${purpose}`);
  }
});

test('an unreachable session is reported exactly like a missing one', (t) => {
  const registry = new SessionRegistry<FakeSession>();
  const theirs = session('acme', 'alice');
  registry.add(theirs, roomy);
  const answers = [
    registry.lookup(principal('globex', 'alice', ['attach']), theirs.id, 'attach'),
    registry.lookup(principal('acme', 'bob'), theirs.id, 'resume'),
    registry.lookup(principal('acme', 'alice'), 'no-such-session', 'resume'),
  ].map((lookup) => (lookup.ok ? 'found' : `${lookup.error.code} ${lookup.error.message} ${JSON.stringify(lookup.error.details)}`));
  t.is(new Set(answers).size, 1);
  t.regex(answers[0] ?? '', /^SG_SESSION_NOT_FOUND /);
});

test('the policy\'s maxSessionsPerUser and maxSessionsPerTenant bound this node, with the quota codes', (t) => {
  const registry = new SessionRegistry<FakeSession>();
  const limits = quota(2, 3);
  t.is(code(registry.add(session('acme', 'alice'), limits)), 'ok');
  t.is(code(registry.add(session('acme', 'alice'), limits)), 'ok');
  const third = registry.add(session('acme', 'alice'), limits);
  t.is(code(third), 'SG_USER_QUOTA');
  t.true(!third.ok && third.error.message.includes('maxSessionsPerUser (2)') && third.error.details['limit'] === 'maxSessionsPerUser');
  t.is(code(registry.add(session('acme', 'bob'), limits)), 'ok');
  const overTenant = registry.add(session('acme', 'carol'), limits);
  t.is(code(overTenant), 'SG_TENANT_QUOTA');
  t.true(!overTenant.ok && overTenant.error.message.includes('maxSessionsPerTenant (3)'));
  t.is(code(registry.add(session('globex', 'alice'), limits)), 'ok', 'same user name, other tenant: counted apart');
  t.is(registry.countForUser({ tenant: 'acme', user: 'alice' }), 2);
  t.is(registry.countForTenant('acme'), 3);
  t.is(registry.countForTenant('globex'), 1);
  t.is(registry.size, 4);
});

test('limits are the session\'s own: a user whose token allows one session gets one, another two', (t) => {
  const registry = new SessionRegistry<FakeSession>();
  t.is(code(registry.add(session('acme', 'alice'), quota(1, 10))), 'ok');
  t.is(code(registry.add(session('acme', 'alice'), quota(1, 10))), 'SG_USER_QUOTA');
  t.is(code(registry.add(session('acme', 'alice'), quota(2, 10))), 'ok');
  t.is(code(registry.add(session('acme', 'alice'), quota(2, 10))), 'SG_USER_QUOTA');
});

test('remove is idempotent, frees the counts, and only removes that very session object', (t) => {
  const registry = new SessionRegistry<FakeSession>();
  const first = session('acme', 'alice', 'same-id-01');
  registry.add(first, quota(1, 10));
  t.true(registry.remove(first));
  t.false(registry.remove(first));
  t.is(registry.countForUser(first.owner), 0);
  t.is(registry.countForTenant('acme'), 0);
  const second = session('acme', 'alice', 'same-id-01');
  t.is(code(registry.add(second, quota(1, 10))), 'ok');
  t.false(registry.remove(first), 'a stale handle with the same id removes nothing');
  t.is(registry.size, 1);
  t.deepEqual(registry.sessions(), [second]);
});

test('registering an id twice is a bug of the caller', (t) => {
  const registry = new SessionRegistry<FakeSession>();
  registry.add(session('acme', 'alice', 'dup-id-001'), roomy);
  t.throws(() => registry.add(session('acme', 'bob', 'dup-id-001'), roomy), { instanceOf: RangeError });
});

test('new session ids are 22 base64url characters and skip ids in use', (t) => {
  const draws = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];
  const registry = new SessionRegistry<FakeSession>({ randomBytes: () => draws.shift() ?? new Uint8Array(16) });
  const first = registry.newSessionId();
  t.regex(first, /^[A-Za-z0-9_-]{22}$/);
  registry.add(session('acme', 'alice', first), roomy);
  const second = registry.newSessionId();
  t.not(second, first);
  t.is(second, Buffer.from(new Uint8Array(16).fill(2)).toString('base64url'));
});
