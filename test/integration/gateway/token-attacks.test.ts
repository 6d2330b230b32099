import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { algNone, goodClaims, hs256WithPublicPem, makeTestKeys, signed, tampered, without } from '../../helpers/attack-tokens.js';
import { SgClient, type Upgrade } from '../../helpers/gateway-attack-client.js';
import { openShell, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway-under-test.js';

/**
 * SECURITY.md "The gateway itself": tokens and cross-tenant access, end to end against a real
 * gateway with real sandboxes. Every token refusal must come BEFORE the upgrade: an HTTP
 * status and the registry code in the JSON body, never a WebSocket, never the token echoed.
 * Resume attacks come after the upgrade (a resume is a frame): SG_RESUME_REJECTED, close 4404.
 */

const ORIGIN = 'https://term.example.com';
const keys = makeTestKeys();

async function gateway(t: ExecutionContext): Promise<GatewayUnderTest> {
  return startGatewayUnderTest(t, {
    resumeGraceMs: 30_000,
    auth: { keys: keys.authKeys, allowedOrigins: [ORIGIN] },
  });
}

function refused(upgrade: Upgrade): { status: number; code: string | undefined; body: string } {
  if (upgrade.ok) {
    upgrade.client.terminate();
    throw new Error('the upgrade was accepted');
  }
  return upgrade.refusal;
}

const past = Date.now() - 3_600_000;
const CASES: readonly { name: string; token: () => string; status: number; code: string }[] = [
  { name: 'alg none', token: () => algNone(keys.ed.kid, goodClaims()), status: 401, code: 'SG_AUTH_ALGORITHM' },
  { name: 'alg none naming the RSA key', token: () => algNone(keys.rsa.kid, goodClaims()), status: 401, code: 'SG_AUTH_ALGORITHM' },
  { name: 'HS256 signed with the RS256 public key PEM', token: () => hs256WithPublicPem(keys.rsa, goodClaims()), status: 401, code: 'SG_AUTH_ALGORITHM' },
  { name: 'expired', token: () => signed(keys.ed, goodClaims({ iat: Math.floor(past / 1000), exp: Math.floor(past / 1000) + 600 })), status: 401, code: 'SG_AUTH_EXPIRED' },
  {
    name: 'not yet valid (nbf in 10 min)',
    token: () => signed(keys.ed, goodClaims({ nbf: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 1200 })),
    status: 401,
    code: 'SG_AUTH_NOT_YET_VALID',
  },
  { name: 'wrong iss', token: () => signed(keys.ed, goodClaims({ iss: 'https://evil.example.com' })), status: 401, code: 'SG_AUTH_ISSUER' },
  { name: 'wrong aud', token: () => signed(keys.rsa, goodClaims({ aud: 'someone-else' })), status: 401, code: 'SG_AUTH_AUDIENCE' },
  { name: 'tampered payload (tenant changed)', token: () => tampered(signed(keys.ed, goodClaims()), goodClaims({ tenant: 'globex' })), status: 401, code: 'SG_AUTH_BAD_SIGNATURE' },
  { name: 'no tenant', token: () => signed(keys.ed, without(goodClaims(), 'tenant')), status: 401, code: 'SG_AUTH_CLAIMS' },
  { name: 'unknown kid', token: () => signed({ ...keys.ed, kid: 'nobody' }, goodClaims()), status: 401, code: 'SG_AUTH_UNKNOWN_KEY' },
];

test('every forged, stale or misdirected token is refused before the upgrade with its HTTP status and code', async (t) => {
  const gw = await gateway(t);
  for (const { name, token, status, code } of CASES) {
    const jwt = token();
    const answer = refused(await SgClient.upgrade(gw.sessionsUrl, { token: jwt }));
    t.is(answer.status, status, name);
    t.is(answer.code, code, `${name}: ${answer.body}`);
    t.false(answer.body.includes(jwt), `${name}: the refusal does not echo the token`);
    // The same token as a browser would send it (subprotocol entry) gets the same answer.
    const browser = refused(await SgClient.upgrade(gw.sessionsUrl, { protocols: ['sandgate.v1', `sandgate.token.${jwt}`], origin: ORIGIN }));
    t.is(browser.code, code, `${name} as a subprotocol`);
  }
  // The control: the same keys and claims, properly signed, are admitted and get a shell.
  for (const key of [keys.ed, keys.rsa]) {
    const client = await openShell(gw, signed(key, goodClaims({ sub: `control-${key.alg}` })));
    t.is(client.offsetProblems.length, 0);
    client.terminate();
  }
});

test('a token in the URL query is refused with 400 SG_AUTH_TOKEN_IN_URL, even with a good header token', async (t) => {
  const gw = await gateway(t);
  const jwt = signed(keys.ed, goodClaims());
  for (const parameter of ['token', 'access_token', 'jwt']) {
    const answer = refused(await SgClient.upgrade(`${gw.sessionsUrl}?${parameter}=${jwt}`, { token: jwt }));
    t.is(answer.status, 400, parameter);
    t.is(answer.code, 'SG_AUTH_TOKEN_IN_URL', parameter);
    t.false(answer.body.includes(jwt));
  }
});

test('a browser-style connection from an Origin not on the allow-list is refused with 403 SG_ORIGIN_FORBIDDEN', async (t) => {
  const gw = await gateway(t);
  const jwt = signed(keys.ed, goodClaims());
  for (const origin of ['https://evil.example.com', 'null', 'https://term.example.com.evil.net', 'http://term.example.com']) {
    const answer = refused(await SgClient.upgrade(gw.sessionsUrl, { protocols: ['sandgate.v1', `sandgate.token.${jwt}`], origin }));
    t.is(answer.status, 403, origin);
    t.is(answer.code, 'SG_ORIGIN_FORBIDDEN', origin);
  }
  const allowed = await SgClient.upgrade(gw.sessionsUrl, { protocols: ['sandgate.v1', `sandgate.token.${jwt}`], origin: ORIGIN });
  t.true(allowed.ok, 'the allowed Origin is admitted');
  if (allowed.ok) allowed.client.terminate();
});

/** A PTY session of `owner`, dropped abruptly: its id and resume token, and the owner's JWT. */
async function droppedSession(gw: GatewayUnderTest, owner: { tenant: string; sub: string }): Promise<{ sessionId: string; resumeToken: string; offset: number; jwt: string }> {
  const jwt = signed(keys.ed, goodClaims(owner));
  const client = await openShell(gw, jwt);
  const hello = await client.hello();
  client.terminate();
  await client.waitClosed();
  return { sessionId: hello.sessionId, resumeToken: hello.resumeToken, offset: client.received, jwt };
}

async function resumeAs(gw: GatewayUnderTest, jwt: string, frame: { sessionId: string; resumeToken: string; outputOffset: number }): Promise<SgClient> {
  const client = await SgClient.connect(gw.sessionsUrl, { token: jwt });
  client.send({ type: 'resume', ...frame });
  return client;
}

async function assertRejected(t: ExecutionContext, client: SgClient, what: string): Promise<void> {
  const error = await client.error();
  t.is(error.code, 'SG_RESUME_REJECTED', what);
  t.true(error.fatal, what);
  const close = await client.waitClosed();
  t.is(close.code, 4404, what);
  t.is(close.errorCode, 'SG_RESUME_REJECTED', what);
  t.false(client.controls.some((f) => f.type === 'hello'), `${what}: no hello`);
  t.is(client.received, 0, `${what}: not one byte of the victim's output`);
}

test('tenant A cannot resume tenant B\'s session with B\'s own id and resume token, not even with the attach scope', async (t) => {
  const gw = await gateway(t);
  const victim = await droppedSession(gw, { tenant: 'globex', sub: 'bob' });
  const frame = { sessionId: victim.sessionId, resumeToken: victim.resumeToken, outputOffset: 0 };
  await assertRejected(t, await resumeAs(gw, signed(keys.ed, goodClaims({ tenant: 'acme', sub: 'bob' })), frame), 'same user name, other tenant');
  await assertRejected(t, await resumeAs(gw, signed(keys.rsa, goodClaims({ tenant: 'acme', sub: 'mallory', scope: 'pty exec attach' })), frame), 'other tenant with attach');
  // The victim's session is intact: its owner resumes it with the same token and it answers.
  const owner = await resumeAs(gw, victim.jwt, { ...frame, outputOffset: victim.offset });
  const hello = await owner.hello();
  t.true(hello.resumed);
  t.is(hello.outputOffset, victim.offset);
  owner.write('echo still-$((40+2))\r');
  await owner.waitOutput(/[\r\n]still-42/);
  t.deepEqual(owner.offsetProblems, []);
  owner.terminate();
});

test('a guessed resume token for a real session id is refused with SG_RESUME_REJECTED, and the owner can still resume', async (t) => {
  const gw = await gateway(t);
  const victim = await droppedSession(gw, { tenant: 'acme', sub: 'alice' });
  for (let guess = 0; guess < 5; guess += 1) {
    const resumeToken = randomBytes(32).toString('base64url');
    await assertRejected(t, await resumeAs(gw, victim.jwt, { sessionId: victim.sessionId, resumeToken, outputOffset: 0 }), `guess ${guess}`);
  }
  // A real token for a session id that does not exist: the same answer.
  await assertRejected(t, await resumeAs(gw, victim.jwt, { sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', resumeToken: victim.resumeToken, outputOffset: 0 }), 'unknown id');
  const owner = await resumeAs(gw, victim.jwt, { sessionId: victim.sessionId, resumeToken: victim.resumeToken, outputOffset: victim.offset });
  t.true((await owner.hello()).resumed, 'guesses do not burn the owner\'s token');
  owner.terminate();
});

test('another user of the same tenant cannot resume a session without the attach scope', async (t) => {
  const gw = await gateway(t);
  const victim = await droppedSession(gw, { tenant: 'acme', sub: 'alice' });
  const frame = { sessionId: victim.sessionId, resumeToken: victim.resumeToken, outputOffset: 0 };
  await assertRejected(t, await resumeAs(gw, signed(keys.ed, goodClaims({ tenant: 'acme', sub: 'eve' })), frame), 'same tenant, other user');
  // v1 has no attach (docs/protocol.md "Versioning"): with the scope a resume token is still bound to its user.
  await assertRejected(t, await resumeAs(gw, signed(keys.ed, goodClaims({ tenant: 'acme', sub: 'eve', scope: 'pty attach' })), frame), 'other user with attach');
  const owner = await resumeAs(gw, victim.jwt, { ...frame, outputOffset: victim.offset });
  t.true((await owner.hello()).resumed);
  owner.terminate();
});
