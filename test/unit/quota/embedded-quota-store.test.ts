import test from 'ava';
import { EmbeddedQuotaStore } from '../../../server/quota/embedded-quota-store.js';
import type { Lease, LeaseRequest } from '../../../server/quota/quota-store.js';

const TTL_MS = 30_000;

function fixture(): { store: EmbeddedQuotaStore; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  let next = 0;
  const store = new EmbeddedQuotaStore({ leaseTtlMs: TTL_MS, now: () => clock.now, newLeaseId: () => `lease-${++next}` });
  return { store, clock };
}

function request(sessionId: string, user = 'alice', tenant = 'acme', limits = { maxSessionsPerTenant: 3, maxSessionsPerUser: 2 }): LeaseRequest {
  return { tenant, user, sessionId, limits };
}

async function lease(store: EmbeddedQuotaStore, req: LeaseRequest): Promise<Lease> {
  const result = await store.acquireSession(req);
  if (!result.ok) throw new Error(`refused: ${result.denial.code}`);
  return result.lease;
}

test('leases are granted up to the user limit, then SG_USER_QUOTA with the count', async (t) => {
  const { store } = fixture();
  const first = await lease(store, request('s1'));
  t.like(first, { tenant: 'acme', user: 'alice', sessionId: 's1', leaseId: 'lease-1', expiresAtMs: 1_000_000 + TTL_MS });
  await lease(store, request('s2'));
  t.like(await store.acquireSession(request('s3')), { ok: false, denial: { code: 'SG_USER_QUOTA', limitName: 'maxSessionsPerUser', limit: 2, current: 2 } });
  t.deepEqual(await store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 2, user: 2 });
});

test('the tenant limit counts every user of the tenant, and no other tenant', async (t) => {
  const { store } = fixture();
  await lease(store, request('a1', 'alice'));
  await lease(store, request('b1', 'bob'));
  await lease(store, request('c1', 'carol'));
  t.like(await store.acquireSession(request('d1', 'dave')), { ok: false, denial: { code: 'SG_TENANT_QUOTA', limit: 3, current: 3 } });
  t.true((await store.acquireSession(request('x1', 'alice', 'other'))).ok, 'another tenant is counted apart');
  t.deepEqual(await store.counts({ tenant: 'acme' }), { tenant: 3, user: 0 });
});

test('release frees a slot at once and is idempotent', async (t) => {
  const { store } = fixture();
  const first = await lease(store, request('s1'));
  await lease(store, request('s2'));
  await store.release(first);
  await store.release(first);
  t.deepEqual(await store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 1, user: 1 });
  t.true((await store.acquireSession(request('s3'))).ok);
});

test('a lease expires leaseTtlMs after it was taken, freeing its slot without a release', async (t) => {
  const { store, clock } = fixture();
  await lease(store, request('s1'));
  await lease(store, request('s2'));
  clock.now += TTL_MS - 1;
  t.false((await store.acquireSession(request('s3'))).ok, 'still live one ms before expiry');
  clock.now += 1;
  t.deepEqual(await store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 0, user: 0 });
  t.true((await store.acquireSession(request('s3'))).ok);
  t.is(store.liveCount(), 1);
});

test('renew extends a live lease; an expired or released one is gone for good', async (t) => {
  const { store, clock } = fixture();
  const first = await lease(store, request('s1'));
  clock.now += TTL_MS - 1;
  const renewed = await store.renew(first);
  t.like(renewed, { leaseId: first.leaseId, expiresAtMs: clock.now + TTL_MS });
  clock.now += TTL_MS - 1;
  t.truthy(await store.renew(first), 'renewed in time again');
  clock.now += TTL_MS;
  t.is(await store.renew(first), undefined, 'expired');
  t.is(await store.renew(first), undefined);
  const second = await lease(store, request('s2'));
  await store.release(second);
  t.is(await store.renew(second), undefined, 'released');
});

test('a stale holder cannot renew or release the lease of the next holder of the same session', async (t) => {
  const { store, clock } = fixture();
  const stale = await lease(store, request('s1'));
  clock.now += TTL_MS;
  const current = await lease(store, request('s1'));
  t.not(current.leaseId, stale.leaseId);
  t.is(await store.renew(stale), undefined);
  await store.release(stale);
  t.deepEqual(await store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 1, user: 1 });
});

test('acquiring a live session again is idempotent: the same lease, renewed, counted once', async (t) => {
  const { store, clock } = fixture();
  const first = await lease(store, request('s1'));
  clock.now += 1000;
  const again = await lease(store, request('s1'));
  t.is(again.leaseId, first.leaseId);
  t.is(again.expiresAtMs, clock.now + TTL_MS);
  t.deepEqual(await store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 1, user: 1 });
  await t.throwsAsync(store.acquireSession(request('s1', 'mallory')), { message: /another user/ });
});

test('expired leases of tenants never asked about again are swept within a TTL', async (t) => {
  const { store, clock } = fixture();
  for (let i = 0; i < 100; i += 1) await lease(store, request(`s${i}`, `user${i}`, `tenant${i}`));
  t.is(store.liveCount(), 100);
  clock.now += TTL_MS;
  await store.counts({ tenant: 'unrelated' });
  t.is(store.liveCount(), 0);
});

test('a lease limit of the token (lower user limit) applies per request', async (t) => {
  const { store } = fixture();
  await lease(store, request('s1', 'alice', 'acme', { maxSessionsPerTenant: 3, maxSessionsPerUser: 1 }));
  t.like(await store.acquireSession(request('s2', 'alice', 'acme', { maxSessionsPerTenant: 3, maxSessionsPerUser: 1 })), { ok: false, denial: { code: 'SG_USER_QUOTA', limit: 1 } });
});
