import test from 'ava';

import { createPrincipal, type Scope } from '../../../server/auth/principal.js';
import type { SessionPolicy } from '../../../server/quota/session-policy.js';
import { DEFAULT_ENV, DEFAULT_LIMITS } from '../../../server/sandbox/sandbox-spec.js';
import { DEFAULT_PTY_ARGV, decideOpen } from '../../../server/session/open-request.js';

const policy: SessionPolicy = { limits: { ...DEFAULT_LIMITS, pids: 32 }, quota: { maxSessionsPerTenant: 10, maxSessionsPerUser: 2 }, lifetimeMs: 60_000 };

function principal(scopes: Scope[] = ['pty', 'exec']) {
  return createPrincipal({ tenant: 'acme', user: 'alice', scopes, limits: {}, tokenId: undefined, expiresAtMs: Date.now() + 60_000 });
}

test('a pty without argv runs the default login shell at its size, with the policy limits', (t) => {
  const decision = decideOpen({ type: 'open', kind: 'pty', cols: 120, rows: 40 }, principal(), policy);
  if (!decision.ok) return t.fail(decision.message);
  t.deepEqual(decision.spec.argv, DEFAULT_PTY_ARGV);
  t.deepEqual(decision.size, { cols: 120, rows: 40 });
  t.is(decision.spec.limits.pids, 32);
  t.is(decision.spec.env['PATH'], DEFAULT_ENV['PATH']);
});

test('an exec keeps its argv, env over the defaults and cwd; it has no size', (t) => {
  const decision = decideOpen({ type: 'open', kind: 'exec', argv: ['make', 'test'], env: { CI: '1' }, cwd: '/tmp' }, principal(), policy);
  if (!decision.ok) return t.fail(decision.message);
  t.deepEqual(decision.spec.argv, ['make', 'test']);
  t.is(decision.spec.env['CI'], '1');
  t.is(decision.spec.cwd, '/tmp');
  t.is(decision.size, undefined);
});

test('each kind needs its scope: SG_AUTH_FORBIDDEN', (t) => {
  t.like(decideOpen({ type: 'open', kind: 'pty', cols: 80, rows: 24 }, principal(['exec']), policy), { ok: false, code: 'SG_AUTH_FORBIDDEN' });
  t.like(decideOpen({ type: 'open', kind: 'exec', argv: ['true'] }, principal(['pty']), policy), { ok: false, code: 'SG_AUTH_FORBIDDEN' });
});

test('sandgate\'s own variables are refused (SG_SPEC_FORBIDDEN), an unnormalised cwd is invalid (SG_SPEC_INVALID)', (t) => {
  t.like(decideOpen({ type: 'open', kind: 'exec', argv: ['env'], env: { REDIS_URL: 'redis://x' } }, principal(), policy), { ok: false, code: 'SG_SPEC_FORBIDDEN' });
  t.like(decideOpen({ type: 'open', kind: 'exec', argv: ['pwd'], cwd: '/home/../etc' }, principal(), policy), { ok: false, code: 'SG_SPEC_INVALID' });
});
