import { ERROR_CODES, type ErrorCode, type ErrorCodeInfo } from '../../client-sdk/src/errors/error-codes.js';

/**
 * The base of every error sandgate raises on purpose. Callers branch on `code`, never on the
 * message; the transport mapping (HTTP status, WebSocket close code, exit code) comes from
 * the registry, so it cannot drift per call site.
 */
export class SandgateError extends Error {
  readonly code: ErrorCode;
  /** Structured facts for logs and ERROR frames (the limit, the option, the path). No secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandgateError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }

  get info(): ErrorCodeInfo {
    return ERROR_CODES[this.code];
  }

  get httpStatus(): number {
    return this.info.httpStatus;
  }

  get wsCloseCode(): number {
    return this.info.wsCloseCode;
  }

  get exitCode(): number {
    return this.info.exitCode;
  }
}

export function isSandgateError(value: unknown, code?: ErrorCode): value is SandgateError {
  return value instanceof SandgateError && (code === undefined || value.code === code);
}
