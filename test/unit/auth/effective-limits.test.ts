import test from 'ava';
import { effectiveLimits, type EnforcedLimits } from '../../../server/auth/effective-limits.js';

const tenant: EnforcedLimits = { memoryBytes: 512 * 2 ** 20, pids: 256, cpuCores: 2, sessions: 10, timeLimitMs: 3_600_000 };

test('no token limits: the tenant limits apply unchanged', (t) => {
  t.deepEqual(effectiveLimits(tenant, undefined), tenant);
  t.deepEqual(effectiveLimits(tenant, {}), tenant);
});

test('token limits lower the tenant limits field by field', (t) => {
  t.deepEqual(effectiveLimits(tenant, { memoryBytes: 128 * 2 ** 20, cpuCores: 0.5 }), { ...tenant, memoryBytes: 128 * 2 ** 20, cpuCores: 0.5 });
  t.deepEqual(effectiveLimits(tenant, { pids: 16, sessions: 1, timeLimitMs: 60_000 }), { ...tenant, pids: 16, sessions: 1, timeLimitMs: 60_000 });
});

test('token limits above the tenant limits never raise them', (t) => {
  t.deepEqual(effectiveLimits(tenant, { memoryBytes: 2 ** 40, pids: 1e6, cpuCores: 64, sessions: 1000, timeLimitMs: 1e12 }), tenant);
});

test('a tenant without a time limit (0) takes the token time limit', (t) => {
  t.is(effectiveLimits({ ...tenant, timeLimitMs: 0 }, { timeLimitMs: 5000 }).timeLimitMs, 5000);
  t.is(effectiveLimits({ ...tenant, timeLimitMs: 0 }, {}).timeLimitMs, 0);
});

test('nonsense token values cannot raise a limit either', (t) => {
  t.deepEqual(effectiveLimits(tenant, { memoryBytes: Number.NaN, pids: -1, cpuCores: Infinity, timeLimitMs: 0 }), tenant);
});

test('for many random pairs every effective field is at most the tenant one (or sets a time limit)', (t) => {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 1000; i += 1) {
    const base: EnforcedLimits = { memoryBytes: Math.ceil(random() * 1e10), pids: Math.ceil(random() * 1e4), cpuCores: random() * 8, sessions: Math.ceil(random() * 50), timeLimitMs: random() < 0.2 ? 0 : Math.ceil(random() * 1e7) };
    const token = { memoryBytes: Math.ceil(random() * 1e10), pids: Math.ceil(random() * 1e4), cpuCores: random() * 8, sessions: Math.ceil(random() * 50), timeLimitMs: Math.ceil(random() * 1e7) };
    const result = effectiveLimits(base, token);
    t.true(result.memoryBytes <= base.memoryBytes && result.memoryBytes <= token.memoryBytes);
    t.true(result.pids <= base.pids && result.pids <= token.pids);
    t.true(result.cpuCores <= base.cpuCores && result.cpuCores <= token.cpuCores);
    t.true(result.sessions <= base.sessions && result.sessions <= token.sessions);
    t.true(result.timeLimitMs <= token.timeLimitMs && (base.timeLimitMs === 0 || result.timeLimitMs <= base.timeLimitMs));
    t.true(result.timeLimitMs > 0);
  }
  t.true(Object.isFrozen(effectiveLimits(tenant, {})));
});
