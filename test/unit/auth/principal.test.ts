import test from 'ava';
import { authorize, createPrincipal } from '../../../server/auth/principal.js';

const principal = createPrincipal({ tenant: 'acme', user: 'alice', scopes: ['pty', 'exec'], limits: { pids: 8 }, tokenId: undefined, expiresAtMs: 1 });

test('a principal is frozen all the way down and has no tokenId key when the token had no jti', (t) => {
  t.true(Object.isFrozen(principal));
  t.true(Object.isFrozen(principal.limits));
  t.false('tokenId' in principal);
  const scopes: unknown = principal.scopes;
  for (const mutate of ['add', 'delete', 'clear'] as const) {
    t.throws(() => {
      if (scopes instanceof Set) scopes[mutate]('attach');
    }, { instanceOf: TypeError }, mutate);
  }
  t.deepEqual([...principal.scopes], ['pty', 'exec']);
});

test('authorize: a granted scope in the own tenant passes', (t) => {
  t.is(authorize(principal, { scope: 'pty' }), undefined);
  t.is(authorize(principal, { scope: 'exec', tenant: 'acme' }), undefined);
});

test('authorize: a missing scope or another tenant is SG_AUTH_FORBIDDEN', (t) => {
  t.is(authorize(principal, { scope: 'attach' })?.code, 'SG_AUTH_FORBIDDEN');
  t.is(authorize(principal, { scope: 'pty', tenant: 'globex' })?.code, 'SG_AUTH_FORBIDDEN');
  t.is(authorize(principal, { scope: 'pty', tenant: 'globex' })?.httpStatus, 403);
});
