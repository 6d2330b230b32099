import { effectiveLimits } from '../auth/effective-limits.js';
import type { Principal } from '../auth/principal.js';
import type { GatewayConfig, TenantPolicy } from '../config/gateway-config.js';
import { isSandgateError, type SandgateError } from '../errors/sandgate-error.js';
import type { SandboxLimits } from '../sandbox/sandbox-spec.js';
import { parseLimits } from '../sandbox/spec-limits.js';
import type { SessionLimitsForQuota } from './quota-store.js';

/**
 * What one session may use: its tenant's policy (config `tenants`, else the top-level values)
 * lowered by its token's `limits` claim (effectiveLimits: a token never raises anything).
 * Pure; computed once per admitted upgrade and handed to the session layer.
 */

export interface SessionPolicy {
  /** Sandbox limits for this session's spec. */
  readonly limits: SandboxLimits;
  /** What the quota store counts this session against. */
  readonly quota: SessionLimitsForQuota;
  /** The session ends this long after it started, ms: maxSessionLifetimeMs or the shorter limits.timeLimitMs. */
  readonly lifetimeMs: number;
}

/** The tenant's policy: its `tenants` entry, or the top-level values. */
export function tenantPolicy(config: GatewayConfig, tenant: string): TenantPolicy {
  // hasOwn: a tenant named `constructor` must not find Object.prototype's.
  const own = Object.hasOwn(config.tenants, tenant) ? config.tenants[tenant] : undefined;
  return own ?? { limits: config.limits, maxSessionsPerTenant: config.maxSessionsPerTenant, maxSessionsPerUser: config.maxSessionsPerUser };
}

/**
 * The policy of a session of `principal`, or SG_SPEC_INVALID when the token's limits are
 * below what a sandbox can run with (a `memoryBytes` under 16 MiB, say): such a session could
 * only fail, so it is refused before the upgrade.
 */
export function sessionPolicy(config: GatewayConfig, principal: Principal): SessionPolicy | SandgateError {
  const tenant = tenantPolicy(config, principal.tenant);
  const lowered = effectiveLimits(
    {
      memoryBytes: tenant.limits.memoryBytes,
      pids: tenant.limits.pids,
      cpuCores: tenant.limits.cpuCores,
      timeLimitMs: tenant.limits.timeLimitMs,
      sessions: tenant.maxSessionsPerUser,
    },
    principal.limits,
  );
  let limits: SandboxLimits;
  try {
    const { memoryBytes, pids, cpuCores, timeLimitMs } = lowered;
    const base = { ...tenant.limits, memoryBytes, pids, cpuCores, timeLimitMs };
    if (memoryBytes === tenant.limits.memoryBytes) {
      limits = parseLimits(base);
    } else {
      // A lower memory limit must still hold the tmpfs mounts (they are charged to it): let
      // spec-limits size them for the new memory, and never above the tenant's own sizes.
      const { tmpBytes, homeBytes, shmBytes, ...rest } = base;
      const sized = parseLimits(rest);
      limits = parseLimits({
        ...sized,
        tmpBytes: Math.min(tmpBytes, sized.tmpBytes),
        homeBytes: Math.min(homeBytes, sized.homeBytes),
        shmBytes: Math.min(shmBytes, sized.shmBytes),
      });
    }
  } catch (error) {
    if (isSandgateError(error, 'SG_SPEC_INVALID')) return error;
    throw error;
  }
  const timeLimit = limits.timeLimitMs === 0 ? Number.POSITIVE_INFINITY : limits.timeLimitMs;
  return Object.freeze({
    limits,
    quota: Object.freeze({ maxSessionsPerTenant: tenant.maxSessionsPerTenant, maxSessionsPerUser: lowered.sessions }),
    lifetimeMs: Math.min(config.maxSessionLifetimeMs, timeLimit),
  });
}
