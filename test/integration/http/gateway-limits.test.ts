import test from 'ava';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { EmbeddedQuotaStore } from '../../../server/quota/embedded-quota-store.js';
import type { AcquireResult, Lease, LeaseRequest, QuotaStore, SessionCounts } from '../../../server/quota/quota-store.js';
import { bearer, closed, httpGet, openedUpgrade, parseJson, rawSocket, rawUpgradeRequest, refusedUpgrade, startTestGateway } from './gateway-fixture.js';

/** A quota store whose acquireSession waits until the test opens the gate. */
class GatedStore implements QuotaStore {
  readonly inner = new EmbeddedQuotaStore({ leaseTtlMs: 30_000 });
  readonly released: Lease[] = [];
  #open: () => void = () => undefined;
  readonly #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });
  #onAcquire: (() => void)[] = [];
  #onRelease: ((lease: Lease) => void)[] = [];

  openGate(): void {
    this.#open();
  }
  /** Resolves when an acquire has started (and is waiting at the gate). */
  acquireStarted(): Promise<void> {
    return new Promise((resolve) => this.#onAcquire.push(resolve));
  }
  releasedOne(): Promise<Lease> {
    return new Promise((resolve) => this.#onRelease.push(resolve));
  }
  async acquireSession(request: LeaseRequest): Promise<AcquireResult> {
    for (const notify of this.#onAcquire.splice(0)) notify();
    await this.#gate;
    return this.inner.acquireSession(request);
  }
  renew(lease: Lease): Promise<Lease | undefined> {
    return this.inner.renew(lease);
  }
  async release(lease: Lease): Promise<void> {
    this.released.push(lease);
    await this.inner.release(lease);
    for (const notify of this.#onRelease.splice(0)) notify(lease);
  }
  counts(query: { tenant: string; user?: string }): Promise<SessionCounts> {
    return this.inner.counts(query);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

test('slowloris: a connection trickling a partial request line is destroyed after handshakeTimeoutMs', async (t) => {
  const { gateway } = await startTestGateway(t, { handshakeTimeoutMs: 200 });
  const socket = await rawSocket(t, gateway);
  const started = performance.now();
  socket.write('GET /v1/sess');
  const trickle = setInterval(() => socket.write('s'), 40);
  t.teardown(() => clearInterval(trickle));
  await closed(socket);
  const elapsed = performance.now() - started;
  t.true(elapsed >= 190, `closed after ${Math.round(elapsed)} ms`);
  t.true(elapsed < 2000, `closed after ${Math.round(elapsed)} ms`);
  t.is(gateway.metrics.refusals.get({ code: 'SG_HANDSHAKE_TIMEOUT' }), 1);
});

test('slowloris: a connection that sends nothing at all is destroyed too; a quick request is served', async (t) => {
  const { gateway } = await startTestGateway(t, { handshakeTimeoutMs: 200 });
  const idle = await rawSocket(t, gateway);
  t.is((await httpGet(`${gateway.url}healthz`)).status, 200, 'a complete request in time is answered');
  await closed(idle);
  t.pass();
});

test('slowloris: an upgrade whose admission outlasts handshakeTimeoutMs is cut, and its lease given back', async (t) => {
  const store = new GatedStore();
  const { gateway, token } = await startTestGateway(t, { handshakeTimeoutMs: 200 }, { quotaStore: store });
  const socket = await rawSocket(t, gateway);
  const acquiring = store.acquireStarted();
  socket.write(rawUpgradeRequest('/v1/sessions', bearer(await token())));
  await acquiring;
  await closed(socket);
  const released = store.releasedOne();
  store.openGate();
  t.like(await released, { tenant: 'acme', user: 'alice' });
  t.deepEqual(await store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 0, user: 0 });
});

test('the connection cap answers 503 SG_OVERLOADED with Retry-After', async (t) => {
  const { gateway, token } = await startTestGateway(t, { maxConnections: 1, maxHandshakesInFlight: 1 });
  const jwt = await token();
  const { ws } = await openedUpgrade(gateway, { headers: bearer(jwt) });
  t.teardown(() => ws.terminate());
  const answer = await refusedUpgrade(gateway, { headers: bearer(jwt) });
  t.is(answer.status, 503);
  t.is(answer.headers['retry-after'], '5');
  t.like(parseJson(answer.body), { code: 'SG_OVERLOADED' });
  t.regex(String(parseJson(answer.body)['message']), /maxConnections/);
  ws.terminate();
  await once(ws, 'close');
});

test('upgrades being admitted are capped by maxHandshakesInFlight', async (t) => {
  const store = new GatedStore();
  const { gateway, token, nextSession } = await startTestGateway(t, { maxHandshakesInFlight: 1, maxConnections: 10 }, { quotaStore: store });
  const jwt = await token();
  const acquiring = store.acquireStarted();
  const first = openedUpgrade(gateway, { headers: bearer(jwt) });
  await acquiring;
  const refused = await refusedUpgrade(gateway, { headers: bearer(jwt) });
  t.is(refused.status, 503);
  t.regex(String(parseJson(refused.body)['message']), /maxHandshakesInFlight/);
  store.openGate();
  const { ws } = await first;
  t.teardown(() => ws.terminate());
  t.is((await nextSession()).principal.user, 'alice');
});

test('host load from the monitor refuses new sessions with 503 SG_OVERLOADED', async (t) => {
  const { gateway, token } = await startTestGateway(t, {}, { hostLoad: () => ({ sessions: 0, spawnsInFlight: 0, pressure: 0.95 }) });
  const answer = await refusedUpgrade(gateway, { headers: bearer(await token()) });
  t.is(answer.status, 503);
  t.regex(String(parseJson(answer.body)['message']), /shedAtPressure/);
});

test('a quota store that cannot be reached admits nothing: 503 SG_QUOTA_UNAVAILABLE', async (t) => {
  const broken = new EmbeddedQuotaStore({ leaseTtlMs: 30_000 });
  broken.acquireSession = async () => {
    throw new Error('ECONNREFUSED 127.0.0.1:6379');
  };
  const { gateway, token } = await startTestGateway(t, {}, { quotaStore: broken });
  const answer = await refusedUpgrade(gateway, { headers: bearer(await token()) });
  t.is(answer.status, 503);
  t.like(parseJson(answer.body), { code: 'SG_QUOTA_UNAVAILABLE' });
});

test('heartbeat: a peer that never answers pings is terminated after pongTimeoutMs; a live one stays', async (t) => {
  const { gateway, token, nextSession } = await startTestGateway(t, { pingIntervalMs: 150, pongTimeoutMs: 100 });
  const jwt = await token();
  const live = await openedUpgrade(gateway, { headers: bearer(jwt) });
  t.teardown(() => live.ws.terminate());
  await nextSession();

  const dead = await rawSocket(t, gateway);
  dead.write(rawUpgradeRequest('/v1/sessions', bearer(jwt)));
  const [head] = await once(dead, 'data');
  t.true(String(head).startsWith('HTTP/1.1 101 '));
  const deadSession = await nextSession();
  const serverSideClosed = once(deadSession.ws, 'close');
  await closed(dead);
  await serverSideClosed;
  t.is(gateway.metrics.pongTimeouts.get({}), 1);

  await once(live.ws, 'ping');
  t.is(live.ws.readyState, live.ws.OPEN, 'a client that answers pings is kept');
});

test('drain: readiness and new upgrades turn 503 SG_SHUTTING_DOWN; it ends when the sessions do', async (t) => {
  let drainNotices = 0;
  const { gateway, token } = await startTestGateway(t, { drainTimeoutMs: 60_000 }, { onDrain: () => void (drainNotices += 1) });
  const jwt = await token();
  const { ws } = await openedUpgrade(gateway, { headers: bearer(jwt) });
  const drained = gateway.drain();
  t.true(gateway.draining);
  t.is(drainNotices, 1);
  const ready = await httpGet(`${gateway.url}readyz`);
  t.is(ready.status, 503);
  t.like(parseJson(ready.body), { code: 'SG_SHUTTING_DOWN' });
  const refused = await refusedUpgrade(gateway, { headers: bearer(jwt) });
  t.is(refused.status, 503);
  t.is(refused.headers['retry-after'], '5');
  t.like(parseJson(refused.body), { code: 'SG_SHUTTING_DOWN' });
  t.is((await httpGet(`${gateway.url}healthz`)).status, 200, 'still alive while draining');
  ws.close(1000);
  await drained;
  t.is(gateway.metrics.draining.get({}), 1);
});

test('drain: sessions still open after drainTimeoutMs are closed with 1001', async (t) => {
  const { gateway, token } = await startTestGateway(t, { drainTimeoutMs: 100 });
  const { ws } = await openedUpgrade(gateway, { headers: bearer(await token()) });
  const clientClosed = once(ws, 'close');
  await gateway.drain();
  const [code] = await clientClosed;
  t.is(code, 1001);
});
