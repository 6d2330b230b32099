import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { SandgateError } from '../errors/sandgate-error.js';

/** The registry codes the auth step may raise: every `SG_AUTH_*` plus the Origin refusal. */
export type AuthErrorCode = Extract<ErrorCode, `SG_AUTH_${string}` | 'SG_ORIGIN_FORBIDDEN'>;

/**
 * A refusal by the auth step. Its message and details describe what was wrong (the claim, the
 * limit, the kid) and never carry the token itself: they end up in logs and close reasons.
 */
export class AuthError extends SandgateError {
  declare readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'AuthError';
  }
}

export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError;
}

const MAX_ECHO_CHARS = 128;

/**
 * A claim or header value taken from an unverified token, made safe to put in details: short
 * printable ASCII is echoed (it helps to see the wrong `iss`), anything else only by length,
 * so a crafted value cannot forge log lines or smuggle a token into them.
 */
export function describeUntrusted(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= MAX_ECHO_CHARS && /^[\x20-\x7e]*$/.test(value) ? value : `<string of ${value.length} chars>`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return '<absent>';
  return Array.isArray(value) ? `<array of ${value.length}>` : `<${typeof value}>`;
}
