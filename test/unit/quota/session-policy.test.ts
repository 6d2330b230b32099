import test from 'ava';
import { createPrincipal, type Principal } from '../../../server/auth/principal.js';
import type { TokenLimits } from '../../../server/auth/effective-limits.js';
import { parseGatewayConfig } from '../../../server/config/gateway-config.js';
import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { sessionPolicy, tenantPolicy, type SessionPolicy } from '../../../server/quota/session-policy.js';

const MIB = 1024 * 1024;
const config = parseGatewayConfig({
  maxSessionLifetimeMs: 3_600_000,
  maxSessionsPerUser: 4,
  tenants: { acme: { maxSessionsPerTenant: 50, maxSessionsPerUser: 10, limits: { memoryBytes: 1024 * MIB, timeLimitMs: 600_000 } } },
});

function principal(tenant: string, limits: TokenLimits = {}): Principal {
  return createPrincipal({ tenant, user: 'alice', scopes: ['pty'], limits, tokenId: undefined, expiresAtMs: Date.now() + 60_000 });
}

function policyOf(p: Principal): SessionPolicy {
  const policy = sessionPolicy(config, p);
  if (isSandgateError(policy)) throw policy;
  return policy;
}

test('a listed tenant gets its own policy; another gets the top-level values', (t) => {
  t.like(tenantPolicy(config, 'acme'), { maxSessionsPerTenant: 50, maxSessionsPerUser: 10, limits: { memoryBytes: 1024 * MIB } });
  t.like(tenantPolicy(config, 'other'), { maxSessionsPerTenant: 100, maxSessionsPerUser: 4, limits: config.limits });
  t.like(tenantPolicy(config, 'constructor'), { maxSessionsPerUser: 4 }, 'no lookup through Object.prototype');
});

test('a token lowers limits and the user quota, never raises them', (t) => {
  const lowered = policyOf(principal('acme', { memoryBytes: 512 * MIB, pids: 32, sessions: 2 }));
  t.like(lowered, { limits: { memoryBytes: 512 * MIB, pids: 32 }, quota: { maxSessionsPerTenant: 50, maxSessionsPerUser: 2 } });
  const raised = policyOf(principal('acme', { memoryBytes: 8192 * MIB, sessions: 99 }));
  t.like(raised, { limits: { memoryBytes: 1024 * MIB }, quota: { maxSessionsPerUser: 10 } });
});

test('a lower memory limit shrinks the tmpfs sizes so the sandbox stays valid', (t) => {
  const small = policyOf(principal('other', { memoryBytes: 32 * MIB }));
  t.is(small.limits.memoryBytes, 32 * MIB);
  t.true(small.limits.tmpBytes + small.limits.homeBytes + small.limits.shmBytes < small.limits.memoryBytes);
});

test('a token memory limit below what a sandbox needs is SG_SPEC_INVALID', (t) => {
  const policy = sessionPolicy(config, principal('other', { memoryBytes: 1024 }));
  t.true(isSandgateError(policy, 'SG_SPEC_INVALID'));
});

test('the lifetime is maxSessionLifetimeMs or the shorter time limit of the tenant or token', (t) => {
  t.is(policyOf(principal('other')).lifetimeMs, 3_600_000);
  t.is(policyOf(principal('acme')).lifetimeMs, 600_000);
  t.is(policyOf(principal('other', { timeLimitMs: 5000 })).lifetimeMs, 5000);
});
