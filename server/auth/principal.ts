import { AuthError } from './auth-error.js';
import type { TokenLimits } from './effective-limits.js';

/**
 * What a token may do: `pty` opens an interactive terminal, `exec` runs a command and returns
 * its exit code, `attach` watches (read-only) any session of the token's tenant, not only the
 * user's own (docs/auth.md, docs/protocol.md "Viewers").
 */
export const SCOPES = ['pty', 'exec', 'attach'] as const;
export type Scope = (typeof SCOPES)[number];

const SCOPES_SET: ReadonlySet<string> = new Set(SCOPES);

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && SCOPES_SET.has(value);
}

/** A verified identity, built only by the token verifier; frozen, scopes included. */
export interface Principal {
  readonly tenant: string;
  /** The token's `sub`. */
  readonly user: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The token's own limits (already validated); combine with `effectiveLimits`. */
  readonly limits: TokenLimits;
  /** The token's `jti`, when it has one (for audit and revocation). */
  readonly tokenId?: string;
  /** When the token expires, ms since the epoch (its `exp`). */
  readonly expiresAtMs: number;
}

export function createPrincipal(fields: {
  tenant: string;
  user: string;
  scopes: Iterable<Scope>;
  limits: TokenLimits;
  tokenId: string | undefined;
  expiresAtMs: number;
}): Principal {
  const principal: Principal = {
    tenant: fields.tenant,
    user: fields.user,
    scopes: readOnlySet(fields.scopes),
    limits: Object.freeze({ ...fields.limits }),
    expiresAtMs: fields.expiresAtMs,
    ...(fields.tokenId === undefined ? {} : { tokenId: fields.tokenId }),
  };
  return Object.freeze(principal);
}

/**
 * Object.freeze does not stop Set#add, so the mutators are shadowed by throwing ones: a
 * principal handed to another module cannot be widened at run time either.
 */
function readOnlySet<T>(items: Iterable<T>): ReadonlySet<T> {
  const set = new Set(items);
  const refuse = (): never => {
    throw new TypeError('A principal is read-only.');
  };
  Object.defineProperties(set, { add: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(set);
}

/**
 * Whether `principal` may do `scope` (in `tenant`, when the target belongs to one): undefined
 * when allowed, else SG_AUTH_FORBIDDEN. Cross-tenant access is refused whatever the scopes.
 */
export function authorize(principal: Principal, need: { readonly scope: Scope; readonly tenant?: string }): AuthError | undefined {
  if (need.tenant !== undefined && need.tenant !== principal.tenant) {
    return new AuthError('SG_AUTH_FORBIDDEN', 'The token belongs to another tenant.', { tenant: principal.tenant });
  }
  if (!principal.scopes.has(need.scope)) {
    return new AuthError('SG_AUTH_FORBIDDEN', `The token lacks the "${need.scope}" scope.`, {
      scope: need.scope,
      granted: [...principal.scopes],
    });
  }
  return undefined;
}
