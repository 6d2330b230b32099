import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { SandgateError } from '../errors/sandgate-error.js';

/**
 * The registry codes the session layer raises: its own `SG_SESSION_*`, `SG_INPUT_RATE` and `SG_VIEWER_LIMIT`,
 * the resume refusal, the quota codes for this node's session counts, and the protocol code
 * a client earns by breaking the flow-control rules of docs/protocol.md (an ack that goes
 * back or passes what was sent, a resume offset outside what was acknowledged and sent).
 */
export type SessionErrorCode = Extract<
  ErrorCode,
  `SG_SESSION_${string}` | 'SG_INPUT_RATE' | 'SG_RESUME_REJECTED' | 'SG_PROTO_OUT_OF_ORDER' | 'SG_TENANT_QUOTA' | 'SG_USER_QUOTA' | 'SG_VIEWER_LIMIT'
>;

/**
 * A refusal by the session layer. Messages name the limit involved and never carry a resume
 * token, nor whether a session the caller may not reach exists.
 */
export class SessionError extends SandgateError {
  declare readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'SessionError';
  }
}

export function isSessionError(value: unknown): value is SessionError {
  return value instanceof SessionError;
}
