import test from 'ava';
import { bearer, httpGet, openedUpgrade, parseJson, startTestGateway } from './gateway-fixture.js';

test('GET /healthz answers 200 {"status":"ok"} as JSON; HEAD the same without a body', async (t) => {
  const { gateway } = await startTestGateway(t);
  const answer = await httpGet(`${gateway.url}healthz`);
  t.is(answer.status, 200);
  t.regex(String(answer.headers['content-type']), /^application\/json/);
  t.deepEqual(parseJson(answer.body), { status: 'ok' });
  const head = await httpGet(`${gateway.url}healthz`, 'HEAD');
  t.is(head.status, 200);
  t.is(head.body, '');
});

test('GET /readyz is 200 when the sandbox probe says ready, 503 with its code when not', async (t) => {
  const ready = await startTestGateway(t);
  t.is((await httpGet(`${ready.gateway.url}readyz`)).status, 200);
  const notReady = await startTestGateway(t, {}, { readiness: () => ({ ready: false, code: 'SG_HOST_UNSUPPORTED', message: 'cgroup v2 is not mounted' }) });
  const answer = await httpGet(`${notReady.gateway.url}readyz`);
  t.is(answer.status, 503);
  t.like(parseJson(answer.body), { code: 'SG_HOST_UNSUPPORTED' });
  t.is(answer.headers['retry-after'], '5');
});

test('GET /metrics is Prometheus text that parses, with the gateway series', async (t) => {
  const { gateway, token } = await startTestGateway(t);
  await httpGet(`${gateway.url}nope`);
  const { ws } = await openedUpgrade(gateway, { headers: bearer(await token()) });
  t.teardown(() => ws.terminate());
  const answer = await httpGet(`${gateway.url}metrics`);
  t.is(answer.status, 200);
  t.is(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const families = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of answer.body.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) {
      families.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})?) (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line);
    t.truthy(sample, `a sample line: ${line}`);
    if (sample?.[1] !== undefined) samples.set(sample[1], Number(sample[2]));
  }
  t.is(families.get('sandgate_connections'), 'gauge');
  t.is(families.get('sandgate_refusals_total'), 'counter');
  t.is(families.get('sandgate_spawn_duration_seconds'), 'histogram');
  t.is(samples.get('sandgate_connections{state="open"}'), 1);
  t.is(samples.get('sandgate_admissions_total'), 1);
  t.is(samples.get('sandgate_refusals_total{code="SG_NOT_FOUND"}'), 1);
  t.is(samples.get('sandgate_spawn_duration_seconds_bucket{le="+Inf"}'), 0);
});

test('an unknown path is a 404 with a JSON {code, message}', async (t) => {
  const { gateway } = await startTestGateway(t);
  const answer = await httpGet(`${gateway.url}etc/passwd?x=1`);
  t.is(answer.status, 404);
  t.regex(String(answer.headers['content-type']), /^application\/json/);
  const body = parseJson(answer.body);
  t.is(body['code'], 'SG_NOT_FOUND');
  t.is(typeof body['message'], 'string');
});

test('other methods on a route are 405 with Allow; a plain GET of the WebSocket path is 426', async (t) => {
  const { gateway } = await startTestGateway(t);
  const post = await httpGet(`${gateway.url}metrics`, 'POST');
  t.is(post.status, 405);
  t.is(post.headers['allow'], 'GET, HEAD');
  t.like(parseJson(post.body), { code: 'SG_METHOD_NOT_ALLOWED' });
  const plain = await httpGet(gateway.sessionsUrl.replace('ws:', 'http:'));
  t.is(plain.status, 426);
  t.is(plain.headers['upgrade'], 'websocket');
  t.like(parseJson(plain.body), { code: 'SG_UPGRADE_REQUIRED' });
});

test('/ is a placeholder page that says how to connect, with a strict CSP and no script', async (t) => {
  const { gateway } = await startTestGateway(t);
  const page = await httpGet(gateway.url);
  t.is(page.status, 200);
  t.regex(String(page.headers['content-type']), /^text\/html/);
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'/);
  t.true(page.body.includes('/v1/sessions'));
  t.true(page.body.includes('sandgate.v1'));
  t.false(page.body.includes('<script'));
});
