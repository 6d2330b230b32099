import type { IncomingMessage } from 'node:http';
import { AuthError } from './auth-error.js';
import { checkOrigin } from './origin-check.js';
import type { Principal } from './principal.js';
import { extractToken, type ExtractedToken } from './token-extract.js';
import type { TokenVerifier } from './token-verifier.js';

export interface AuthenticatedRequest {
  readonly principal: Principal;
  /** How the token came: the upgrade must then select `sandgate.v1`, never the token entry. */
  readonly transport: ExtractedToken['transport'];
}

/**
 * The whole auth step for one upgrade request, before any session exists: Origin, then the
 * token's transport, then the token. Returns the refusal (with its HTTP status and close code
 * from the registry) instead of throwing; the token is dropped here and goes no further.
 */
export function authenticateRequest(
  req: IncomingMessage,
  auth: { readonly verifier: TokenVerifier; readonly allowedOrigins: readonly string[] },
  nowMs: number = Date.now(),
): AuthenticatedRequest | AuthError {
  const originRefusal = checkOrigin(req.headers.origin, auth.allowedOrigins);
  if (originRefusal !== undefined) return originRefusal;
  const extracted = extractToken(req);
  if (extracted instanceof AuthError) return extracted;
  const principal = auth.verifier.verify(extracted.token, nowMs);
  if (principal instanceof AuthError) return principal;
  return Object.freeze({ principal, transport: extracted.transport });
}
