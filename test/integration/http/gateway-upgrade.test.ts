import test from 'ava';
import { once } from 'node:events';
import { parseGatewayConfig } from '../../../server/config/gateway-config.js';
import { startGateway } from '../../../server/http/gateway.js';
import { SILENT_LOG } from '../../../server/http/request-log.js';
import {
  ALLOWED_ORIGIN, bearer, closed, openedUpgrade, parseJson, rawSocket, rawUpgradeRequest, refusedUpgrade, startTestGateway,
} from './gateway-fixture.js';

test('an upgrade without a token is refused before the upgrade: 401 SG_AUTH_MISSING as JSON', async (t) => {
  const { gateway } = await startTestGateway(t);
  const answer = await refusedUpgrade(gateway);
  t.is(answer.status, 401);
  t.regex(String(answer.headers['content-type']), /^application\/json/);
  t.is(answer.headers['connection'], 'close');
  t.like(parseJson(answer.body), { code: 'SG_AUTH_MISSING' });
  t.is(gateway.metrics.refusals.get({ code: 'SG_AUTH_MISSING' }), 1);
});

test('a browser Origin not in the allow-list is refused with 403 SG_ORIGIN_FORBIDDEN, even with a good token', async (t) => {
  const { gateway, token } = await startTestGateway(t);
  const answer = await refusedUpgrade(gateway, { origin: 'https://evil.example.com', protocols: ['sandgate.v1', `sandgate.token.${await token()}`] });
  t.is(answer.status, 403);
  t.like(parseJson(answer.body), { code: 'SG_ORIGIN_FORBIDDEN' });
});

test('an upgrade that does not offer sandgate.v1 is refused with 400 SG_PROTO_VERSION', async (t) => {
  const { gateway, token } = await startTestGateway(t);
  const answer = await refusedUpgrade(gateway, { protocols: ['sandgate.v2', 'graphql-ws'], headers: bearer(await token()) });
  t.is(answer.status, 400);
  t.like(parseJson(answer.body), { code: 'SG_PROTO_VERSION' });
  const none = await refusedUpgrade(gateway, { protocols: [], headers: bearer(await token()) });
  t.like(parseJson(none.body), { code: 'SG_PROTO_VERSION' });
});

test('an upgrade on another path is 404 SG_NOT_FOUND', async (t) => {
  const { gateway, token } = await startTestGateway(t);
  const answer = await refusedUpgrade(gateway, { url: gateway.sessionsUrl.replace('/v1/sessions', '/v2/sessions'), headers: bearer(await token()) });
  t.is(answer.status, 404);
  t.like(parseJson(answer.body), { code: 'SG_NOT_FOUND' });
});

test('a program\'s upgrade (Authorization: Bearer) reaches onSession with the principal, a lease and sandgate.v1', async (t) => {
  const { gateway, token, nextSession } = await startTestGateway(t);
  const { ws, headers } = await openedUpgrade(gateway, { headers: bearer(await token({ tenant: 'acme', user: 'alice' })) });
  t.teardown(() => ws.terminate());
  const session = await nextSession();
  t.is(ws.protocol, 'sandgate.v1');
  t.is(headers['sec-websocket-protocol'], 'sandgate.v1');
  t.is(session.ws.protocol, 'sandgate.v1');
  t.like(session.principal, { tenant: 'acme', user: 'alice' });
  t.true(session.principal.scopes.has('pty'));
  t.like(session.lease, { tenant: 'acme', user: 'alice' });
  t.regex(session.lease.sessionId, /^[A-Za-z0-9_-]{22}$/);
  t.deepEqual(session.policy.quota, { maxSessionsPerTenant: 100, maxSessionsPerUser: 5 });
  t.deepEqual(await gateway.quotaStore.counts({ tenant: 'acme', user: 'alice' }), { tenant: 1, user: 1 });
});

test('a browser\'s upgrade (token as a subprotocol) selects exactly sandgate.v1, never the token entry', async (t) => {
  const { gateway, token, nextSession, logLines } = await startTestGateway(t);
  const jwt = await token();
  const { ws, headers } = await openedUpgrade(gateway, { origin: ALLOWED_ORIGIN, protocols: ['sandgate.v1', `sandgate.token.${jwt}`] });
  t.teardown(() => ws.terminate());
  const session = await nextSession();
  t.is(ws.protocol, 'sandgate.v1');
  t.is(headers['sec-websocket-protocol'], 'sandgate.v1');
  t.is(session.ws.protocol, 'sandgate.v1');
  t.like(session.principal, { tenant: 'acme', user: 'alice' });
  t.true(logLines.length > 0);
  t.false(logLines.some((line) => line.includes(jwt)), 'no log line carries the token');
});

test('a token in the URL is refused with 400 SG_AUTH_TOKEN_IN_URL, and neither the answer nor a log line repeats it', async (t) => {
  const { gateway, token, logLines } = await startTestGateway(t);
  const jwt = await token();
  const answer = await refusedUpgrade(gateway, { urlSuffix: `?token=${jwt}`, headers: bearer(jwt) });
  t.is(answer.status, 400);
  t.like(parseJson(answer.body), { code: 'SG_AUTH_TOKEN_IN_URL' });
  t.false(answer.body.includes(jwt));
  t.false(logLines.some((line) => line.includes(jwt)));
  const path = await refusedUpgrade(gateway, { url: `${gateway.url.replace('http:', 'ws:')}${jwt}`, headers: bearer(jwt) });
  t.is(path.status, 404);
  t.false(logLines.some((line) => line.includes(jwt)), 'a token in the path is redacted from the log too');
});

test('a bad token is refused with its code, and the answer does not echo it', async (t) => {
  const { gateway, token } = await startTestGateway(t);
  const jwt = await token();
  const tampered = `${jwt.slice(0, -4)}AAAA`;
  const answer = await refusedUpgrade(gateway, { headers: bearer(tampered) });
  t.is(answer.status, 401);
  t.like(parseJson(answer.body), { code: 'SG_AUTH_BAD_SIGNATURE' });
  t.false(answer.body.includes(tampered));
});

test('malformed WebSocket headers are refused as JSON before any token is looked at', async (t) => {
  const { gateway, token } = await startTestGateway(t);
  const jwt = await token();
  const cases: [Record<string, string>, number, string][] = [
    [{ 'Sec-WebSocket-Version': '8' }, 426, 'SG_UPGRADE_REQUIRED'],
    [{ 'Sec-WebSocket-Key': 'short' }, 400, 'SG_HANDSHAKE_INVALID'],
    [{ 'Sec-WebSocket-Protocol': 'sandgate.v1, sandgate.v1' }, 400, 'SG_HANDSHAKE_INVALID'],
  ];
  for (const [override, status, code] of cases) {
    const socket = await rawSocket(t, gateway);
    const request = rawUpgradeRequest('/v1/sessions', { Authorization: `Bearer ${jwt}` });
    const lines = request.split('\r\n').filter((line) => !Object.keys(override).some((name) => line.startsWith(`${name}:`)));
    lines.splice(1, 0, ...Object.entries(override).map(([name, value]) => `${name}: ${value}`));
    socket.write(lines.join('\r\n'));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await closed(socket);
    const text = Buffer.concat(chunks).toString('utf8');
    t.true(text.startsWith(`HTTP/1.1 ${status} `), `${code}: ${text.split('\r\n')[0] ?? ''}`);
    t.true(text.includes(`"code":"${code}"`), text);
  }
});

test('the user\'s session limit is enforced across connections: 429 SG_USER_QUOTA with Retry-After, freed by a release', async (t) => {
  const { gateway, token, nextSession } = await startTestGateway(t, { maxSessionsPerUser: 1 });
  const jwt = await token();
  const { ws } = await openedUpgrade(gateway, { headers: bearer(jwt) });
  t.teardown(() => ws.terminate());
  const first = await nextSession();
  const refused = await refusedUpgrade(gateway, { headers: bearer(jwt) });
  t.is(refused.status, 429);
  t.is(refused.headers['retry-after'], '5');
  t.like(parseJson(refused.body), { code: 'SG_USER_QUOTA' });
  const other = await openedUpgrade(gateway, { headers: bearer(await token({ user: 'bob' })) });
  t.teardown(() => other.ws.terminate());
  await gateway.quotaStore.release(first.lease);
  const again = await openedUpgrade(gateway, { headers: bearer(jwt) });
  t.teardown(() => again.ws.terminate());
  t.is(again.ws.protocol, 'sandgate.v1');
});

test('a token\'s limits.sessions lowers the user limit', async (t) => {
  const { gateway, token, nextSession } = await startTestGateway(t);
  const jwt = await token({ limits: { sessions: 1 } });
  const { ws } = await openedUpgrade(gateway, { headers: bearer(jwt) });
  t.teardown(() => ws.terminate());
  t.is((await nextSession()).policy.quota.maxSessionsPerUser, 1);
  t.like(parseJson((await refusedUpgrade(gateway, { headers: bearer(jwt) })).body), { code: 'SG_USER_QUOTA' });
});

test('a session layer that throws costs only its own connection: 1011, lease released, gateway still serving', async (t) => {
  const { gateway, token } = await startTestGateway(t, {}, { onSession: () => { throw new Error('bug'); } });
  const { ws } = await openedUpgrade(gateway, { headers: bearer(await token()) });
  const [code] = await once(ws, 'close');
  t.is(code, 1011);
  t.deepEqual(await gateway.quotaStore.counts({ tenant: 'acme', user: 'alice' }), { tenant: 0, user: 0 });
  const again = await openedUpgrade(gateway, { headers: bearer(await token()) });
  t.teardown(() => again.ws.terminate());
});

test('dev mode allows the gateway\'s own origin while auth.allowedOrigins is empty', async (t) => {
  const { gateway, token } = await startTestGateway(t, { dev: true, auth: { allowedOrigins: [] } });
  const own = `http://127.0.0.1:${gateway.port}`;
  const { ws } = await openedUpgrade(gateway, { origin: own, protocols: ['sandgate.v1', `sandgate.token.${await token()}`] });
  t.teardown(() => ws.terminate());
  t.is(ws.protocol, 'sandgate.v1');
  const other = await refusedUpgrade(gateway, { origin: 'http://127.0.0.1:1', protocols: ['sandgate.v1', `sandgate.token.${await token()}`] });
  t.is(other.status, 403);
});

test('the gateway does not start without a verification key, or with redisUrl and no Redis store', async (t) => {
  await t.throwsAsync(startGateway(parseGatewayConfig({ port: 0 }), { onSession: () => undefined, log: SILENT_LOG }), { message: /auth\.keys is empty/ });
  await t.throwsAsync(startGateway(parseGatewayConfig({ port: 0, redisUrl: 'redis://127.0.0.1:1' }), { onSession: () => undefined, log: SILENT_LOG }), { message: /redisUrl is set/ });
});
