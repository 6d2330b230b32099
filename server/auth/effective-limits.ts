import type { SandboxLimits } from '../sandbox/sandbox-spec.js';

/**
 * The limits a token may carry in its `limits` claim. A token can only LOWER what its tenant
 * is allowed (a token is a delegation, never an escalation), see `effectiveLimits`.
 */
export interface TokenLimits {
  /** Memory of each sandbox, bytes. */
  readonly memoryBytes?: number;
  /** Tasks (processes + threads) in each sandbox. */
  readonly pids?: number;
  /** CPU quota of each sandbox, cores (0.5 = half a core). */
  readonly cpuCores?: number;
  /** Concurrent sessions of this token's user. */
  readonly sessions?: number;
  /** Wall-clock limit of each session, ms. */
  readonly timeLimitMs?: number;
}

export type TokenLimitName = keyof TokenLimits;

/** Every field the `limits` claim may hold, with whether it must be an integer. */
export const TOKEN_LIMIT_FIELDS: Readonly<Record<TokenLimitName, { readonly integer: boolean }>> = Object.freeze({
  memoryBytes: { integer: true },
  pids: { integer: true },
  cpuCores: { integer: false },
  sessions: { integer: true },
  timeLimitMs: { integer: true },
});

/** The tenant's side of the comparison: the sandbox limits a token can lower, plus sessions. */
export type EnforcedLimits = Pick<SandboxLimits, 'memoryBytes' | 'pids' | 'cpuCores' | 'timeLimitMs'> & {
  /** Concurrent sessions allowed. */
  readonly sessions: number;
};

/**
 * The limits that apply to a session: the tenant's, lowered field by field by the token's.
 * Pure and total: a token field above the tenant's is ignored (never raises), a missing one
 * keeps the tenant's. `timeLimitMs: 0` on the tenant side means "no time limit"
 * (SandboxLimits, sandbox-spec.ts), so any positive token value is lower than it.
 */
export function effectiveLimits(tenantLimits: EnforcedLimits, tokenLimits: TokenLimits | undefined): EnforcedLimits {
  const token = tokenLimits ?? {};
  return Object.freeze({
    memoryBytes: lower(tenantLimits.memoryBytes, token.memoryBytes),
    pids: lower(tenantLimits.pids, token.pids),
    cpuCores: lower(tenantLimits.cpuCores, token.cpuCores),
    sessions: lower(tenantLimits.sessions, token.sessions),
    // 0 means "no time limit": compared as +∞, and +∞ maps back to 0.
    timeLimitMs: noneIfInfinite(lower(tenantLimits.timeLimitMs === 0 ? Number.POSITIVE_INFINITY : tenantLimits.timeLimitMs, token.timeLimitMs)),
  });
}

function noneIfInfinite(ms: number): number {
  return ms === Number.POSITIVE_INFINITY ? 0 : ms;
}

function lower(tenant: number, token: number | undefined): number {
  // A token value that is not a positive finite number (claims.ts refuses those before they
  // get here) is ignored: NaN, a negative or 0 (which means "none" for timeLimitMs) must not
  // be able to raise a limit by any path.
  if (token === undefined || !Number.isFinite(token) || token <= 0) return tenant;
  return Math.min(tenant, token);
}
