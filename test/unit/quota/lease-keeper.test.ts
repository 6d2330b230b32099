import test from 'ava';
import { EmbeddedQuotaStore } from '../../../server/quota/embedded-quota-store.js';
import { keepLeaseAlive } from '../../../server/quota/lease-keeper.js';
import type { Lease } from '../../../server/quota/quota-store.js';

/** The keeper's timers are unref'd (a lease must not keep a process alive): hold the loop open. */
function holdEventLoop(t: { teardown(fn: () => void): void }): void {
  const handle = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(handle));
}

async function acquired(store: EmbeddedQuotaStore): Promise<Lease> {
  const result = await store.acquireSession({ tenant: 'acme', user: 'alice', sessionId: 's1', limits: { maxSessionsPerTenant: 5, maxSessionsPerUser: 5 } });
  if (!result.ok) throw new Error('refused');
  return result.lease;
}

test('the keeper renews the lease until stopped', async (t) => {
  holdEventLoop(t);
  const clock = { now: 0 };
  const store = new EmbeddedQuotaStore({ leaseTtlMs: 1000, now: () => clock.now });
  const lease = await acquired(store);
  let renewals = 0;
  const original = store.renew.bind(store);
  await new Promise<void>((resolve) => {
    store.renew = async (l) => {
      clock.now += 500;
      renewals += 1;
      const renewed = await original(l);
      if (renewals === 3) resolve();
      return renewed;
    };
    const keeper = keepLeaseAlive(store, lease, { renewEveryMs: 5, onLost: () => t.fail('lost') });
    t.teardown(() => keeper.stop());
  });
  t.is(renewals, 3);
  t.deepEqual(await store.counts({ tenant: 'acme' }), { tenant: 1, user: 0 }, 'still held after three TTL halves');
});

test('the keeper reports a lease the store no longer holds, once, and stops', async (t) => {
  holdEventLoop(t);
  const store = new EmbeddedQuotaStore({ leaseTtlMs: 1000 });
  const lease = await acquired(store);
  await store.release(lease);
  const lost = await new Promise<Lease>((resolve) => {
    keepLeaseAlive(store, lease, { renewEveryMs: 5, onLost: resolve });
  });
  t.is(lost.sessionId, 's1');
});

test('a store error is reported and the renewal retried', async (t) => {
  const store = new EmbeddedQuotaStore({ leaseTtlMs: 1000 });
  const lease = await acquired(store);
  let calls = 0;
  const original = store.renew.bind(store);
  store.renew = async (l) => {
    calls += 1;
    if (calls === 1) throw new Error('redis down');
    return original(l);
  };
  const errors: unknown[] = [];
  await new Promise<void>((resolve) => {
    const keeper = keepLeaseAlive(store, lease, {
      renewEveryMs: 5,
      onLost: () => t.fail('lost'),
      onError: (error) => errors.push(error),
    });
    const poll = setInterval(() => {
      if (calls >= 2) {
        clearInterval(poll);
        keeper.stop();
        resolve();
      }
    }, 1);
  });
  t.is(errors.length, 1);
});
