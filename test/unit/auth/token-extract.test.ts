import test from 'ava';
import { createServer, IncomingMessage, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { AuthError } from '../../../server/auth/auth-error.js';
import { authenticateRequest } from '../../../server/auth/authenticate-request.js';
import { extractToken, redactToken, redactTokens, TOKEN_SUBPROTOCOL_PREFIX } from '../../../server/auth/token-extract.js';
import { goodClaims, makeKeyPair, NOW_S, signed, verifierFor } from './auth-fixtures.js';

const pair = makeKeyPair('EdDSA');
const jwt = signed(pair);

/** A real IncomingMessage as Node's parser fills it: url, headers and rawHeaders. */
function request(url: string, rawHeaders: string[]): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.rawHeaders = rawHeaders;
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = rawHeaders[i + 1] ?? '';
    if (name === 'authorization' && headers[name] !== undefined) continue; // Node keeps the first
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  req.headers = headers;
  return req;
}

function codeOf(result: ReturnType<typeof extractToken>): string {
  return result instanceof AuthError ? result.code : result.transport;
}

test('Authorization: Bearer gives the token (scheme case-insensitive)', (t) => {
  for (const header of [`Bearer ${jwt}`, `bearer ${jwt}`, `BEARER  ${jwt}`]) {
    const result = extractToken(request('/ws', ['Authorization', header]));
    t.deepEqual(result, { token: jwt, transport: 'header' });
  }
});

test('the sandgate.token subprotocol gives the token', (t) => {
  const result = extractToken(request('/ws', ['Sec-WebSocket-Protocol', `sandgate.v1, ${TOKEN_SUBPROTOCOL_PREFIX}${jwt}`]));
  t.deepEqual(result, { token: jwt, transport: 'subprotocol' });
  const repeated = extractToken(request('/ws', ['Sec-WebSocket-Protocol', 'sandgate.v1', 'Sec-WebSocket-Protocol', `${TOKEN_SUBPROTOCOL_PREFIX}${jwt}`]));
  t.deepEqual(repeated, { token: jwt, transport: 'subprotocol' });
});

test('no token at all is SG_AUTH_MISSING', (t) => {
  t.is(codeOf(extractToken(request('/ws', []))), 'SG_AUTH_MISSING');
  t.is(codeOf(extractToken(request('/ws?session=abc', ['Sec-WebSocket-Protocol', 'sandgate.v1']))), 'SG_AUTH_MISSING');
});

test('a token in the URL query is refused, even when a header carries one too', (t) => {
  const urls = [
    `/ws?token=${jwt}`,
    `/ws?access_token=${jwt}`,
    '/ws?Access_Token=x',
    '/ws?jwt=x',
    `/ws?session=1&t=${jwt}`,
    `/ws?${jwt}`,
    `/ws?t=${encodeURIComponent(jwt)}`,
  ];
  for (const url of urls) {
    const result = extractToken(request(url, ['Authorization', `Bearer ${jwt}`]));
    t.is(codeOf(result), 'SG_AUTH_TOKEN_IN_URL', url.slice(0, 30));
    if (result instanceof AuthError) t.false(`${result.message}${JSON.stringify(result.details)}`.includes(jwt));
  }
});

test('ambiguous or malformed transports are SG_AUTH_MALFORMED', (t) => {
  const cases: string[][] = [
    ['Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['Authorization', 'Bearer'],
    ['Authorization', `Bearer ${jwt} extra`],
    ['Authorization', `Bearer ${jwt}`, 'Authorization', 'Bearer other'],
    ['Authorization', `Bearer ${jwt}`, 'Sec-WebSocket-Protocol', `sandgate.v1, ${TOKEN_SUBPROTOCOL_PREFIX}${jwt}`],
    ['Sec-WebSocket-Protocol', `${TOKEN_SUBPROTOCOL_PREFIX}${jwt}, ${TOKEN_SUBPROTOCOL_PREFIX}${jwt}`],
    ['Sec-WebSocket-Protocol', `sandgate.v1, ${TOKEN_SUBPROTOCOL_PREFIX}`],
  ];
  for (const raw of cases) t.is(codeOf(extractToken(request('/ws', raw))), 'SG_AUTH_MALFORMED', raw.join(': ').slice(0, 50));
});

test('redactToken never contains the token but tells two tokens apart', (t) => {
  const other = signed(pair, goodClaims({ sub: 'bob' }));
  t.false(redactToken(jwt).includes(jwt));
  t.false(redactToken(jwt).includes(jwt.split('.')[1] ?? 'x'));
  t.not(redactToken(jwt), redactToken(other));
  t.is(redactToken(jwt), redactToken(jwt));
  const line = redactTokens(`GET /ws?token=${jwt} Authorization: Bearer ${other}`);
  t.false(line.includes(jwt) || line.includes(other));
  t.true(line.startsWith('GET /ws?token=[token redacted'));
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return (address satisfies AddressInfo).port;
}

test('end to end over a real upgrade: header and subprotocol both authenticate, refusals get their HTTP status', async (t) => {
  const verifier = verifierFor([pair]);
  const nowMs = NOW_S * 1000;
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('sandgate.v1') ? 'sandgate.v1' : false) });
  const server = createServer();
  server.on('upgrade', (req, socket, head) => {
    const result = authenticateRequest(req, { verifier, allowedOrigins: ['https://term.example.com'] }, nowMs);
    if (result instanceof AuthError) {
      socket.end(`HTTP/1.1 ${result.httpStatus} Refused\r\nX-Sandgate-Error: ${result.code}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000, `${result.principal.tenant}/${result.principal.user}/${result.transport}`));
  });
  const port = await listen(server);
  const url = `ws://127.0.0.1:${port}/ws`;
  const attempt = (protocols: string[], options: WebSocket.ClientOptions) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(url, protocols, options);
      ws.on('close', (_code, reason) => resolve(`${ws.protocol}|${reason.toString()}`));
      ws.on('unexpected-response', (_req, res) => {
        resolve(`${res.statusCode} ${String(res.headers['x-sandgate-error'])}`);
        res.resume();
      });
      ws.on('error', () => undefined);
    });
  try {
    t.is(await attempt(['sandgate.v1'], { headers: { Authorization: `Bearer ${jwt}` } }), 'sandgate.v1|acme/alice/header');
    t.is(await attempt(['sandgate.v1', `${TOKEN_SUBPROTOCOL_PREFIX}${jwt}`], { origin: 'https://term.example.com' }), 'sandgate.v1|acme/alice/subprotocol');
    t.is(await attempt(['sandgate.v1', `${TOKEN_SUBPROTOCOL_PREFIX}${jwt}`], { origin: 'https://evil.example.com' }), '403 SG_ORIGIN_FORBIDDEN');
    t.is(await attempt(['sandgate.v1'], {}), '401 SG_AUTH_MISSING');
    t.is(await attempt(['sandgate.v1', `${TOKEN_SUBPROTOCOL_PREFIX}${signed(pair, goodClaims({ exp: NOW_S - 3600 }))}`], {}), '401 SG_AUTH_EXPIRED');
  } finally {
    wss.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
