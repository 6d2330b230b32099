import test from 'ava';
import {
  RESUME_SUBPROTOCOL,
  SUBPROTOCOL,
  clientSubprotocols,
  closeFor,
  errorCodeOfClose,
  parseSubprotocolHeader,
  selectSubprotocol,
} from '../../../client-sdk/src/protocol/index.js';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl';

test('a browser offers the version then the token; the server selects the version only', (t) => {
  const offered = clientSubprotocols(JWT);
  t.deepEqual(offered, { ok: true, payload: ['sandgate.v1', `sandgate.token.${JWT}`] });
  if (!offered.ok) return;
  const header = offered.payload.join(', ');
  t.deepEqual(selectSubprotocol(parseSubprotocolHeader(header)), { ok: true, protocol: SUBPROTOCOL, token: JWT, hint: undefined });
});

test('without a token entry the selection has no token (it may come in Authorization)', (t) => {
  t.deepEqual(selectSubprotocol(['sandgate.v1']), { ok: true, protocol: 'sandgate.v1', token: undefined, hint: undefined });
  t.deepEqual(clientSubprotocols(), { ok: true, payload: ['sandgate.v1'] });
});

test('a reconnecting client offers the resume hint; the selection notes it and still selects only the version', (t) => {
  const offered = clientSubprotocols(JWT, { hint: 'resume' });
  t.deepEqual(offered, { ok: true, payload: ['sandgate.v1', RESUME_SUBPROTOCOL, `sandgate.token.${JWT}`] });
  if (!offered.ok) return;
  t.deepEqual(selectSubprotocol(parseSubprotocolHeader(offered.payload.join(', '))), { ok: true, protocol: SUBPROTOCOL, token: JWT, hint: 'resume' });
  t.deepEqual(clientSubprotocols(undefined, { hint: 'resume' }), { ok: true, payload: ['sandgate.v1', 'sandgate.resume'] });
  t.like(selectSubprotocol(['sandgate.resume', 'sandgate.v1']), { ok: true, hint: 'resume' });
  // The hint alone is no version.
  t.like(selectSubprotocol(['sandgate.resume']), { ok: false, error: { code: 'SG_PROTO_VERSION' } });
  // Only the exact entry counts.
  t.like(selectSubprotocol(['sandgate.v1', 'sandgate.resumed', 'x.sandgate.resume']), { ok: true, hint: undefined });
});

test('a viewer offers the attach hint; offering both hints is refused before the upgrade', (t) => {
  const offered = clientSubprotocols(JWT, { hint: 'attach' });
  t.deepEqual(offered, { ok: true, payload: ['sandgate.v1', 'sandgate.attach', `sandgate.token.${JWT}`] });
  t.like(selectSubprotocol(['sandgate.v1', 'sandgate.attach']), { ok: true, hint: 'attach' });
  t.like(selectSubprotocol(['sandgate.v1', 'sandgate.attach', 'sandgate.resume']), { ok: false, error: { code: 'SG_HANDSHAKE_INVALID' } });
});

test('unrelated entries are ignored and a newer version alongside v1 still selects v1', (t) => {
  t.like(selectSubprotocol(['graphql-ws', 'sandgate.v2', 'sandgate.v1']), { ok: true, protocol: 'sandgate.v1' });
});

test('no version spoken here: SG_PROTO_VERSION, naming the versions offered', (t) => {
  const result = selectSubprotocol(['sandgate.v2', `sandgate.token.${JWT}`]);
  t.like(result, { ok: false, error: { code: 'SG_PROTO_VERSION' } });
  if (!result.ok) {
    t.true(result.error.message.includes('sandgate.v2'));
    t.false(result.error.message.includes(JWT));
  }
  t.like(selectSubprotocol([]), { ok: false, error: { code: 'SG_PROTO_VERSION' } });
});

test('two token entries or a token that is not a compact JWT: SG_AUTH_MALFORMED, token not echoed', (t) => {
  for (const offered of [
    ['sandgate.v1', `sandgate.token.${JWT}`, 'sandgate.token.other.token.x'],
    ['sandgate.v1', 'sandgate.token.'],
    ['sandgate.v1', 'sandgate.token.abc/def'],
  ]) {
    const result = selectSubprotocol(offered);
    t.like(result, { ok: false, error: { code: 'SG_AUTH_MALFORMED' } });
    if (!result.ok) t.false(result.error.message.includes(JWT));
  }
  t.like(clientSubprotocols('not a jwt'), { ok: false, error: { code: 'SG_AUTH_MALFORMED' } });
});

test('parseSubprotocolHeader splits on commas and trims', (t) => {
  t.deepEqual(parseSubprotocolHeader(' sandgate.v1 ,, x '), ['sandgate.v1', 'x']);
  t.deepEqual(parseSubprotocolHeader(undefined), []);
});

test('a close carries the registry close code and the code first in its reason, within 123 bytes', (t) => {
  const close = closeFor('SG_PROTO_OUT_OF_ORDER', `stdin before hello ${'é'.repeat(200)}\n`);
  t.is(close.closeCode, 4409);
  t.true(close.reason.startsWith('SG_PROTO_OUT_OF_ORDER: stdin before hello'));
  t.true(new TextEncoder().encode(close.reason).byteLength <= 123);
  t.is(errorCodeOfClose(close.closeCode, close.reason), 'SG_PROTO_OUT_OF_ORDER');
  t.deepEqual(closeFor('SG_PROTO_TOO_LARGE'), { closeCode: 1009, reason: 'SG_PROTO_TOO_LARGE' });
});

test('errorCodeOfClose: ws 1009 without a reason, unknown codes and normal closes', (t) => {
  t.is(errorCodeOfClose(1009, ''), 'SG_PROTO_TOO_LARGE');
  t.is(errorCodeOfClose(4400, 'SG_FROM_THE_FUTURE: x'), undefined);
  t.is(errorCodeOfClose(1000, ''), undefined);
  t.is(errorCodeOfClose(4401, 'SG_AUTH_EXPIRED'), 'SG_AUTH_EXPIRED');
});
