import type { ErrorCode } from '../errors/error-codes.js';

/** The registry codes the protocol module itself returns. */
export type ProtocolErrorCode = Extract<
  ErrorCode,
  | 'SG_PROTO_VERSION'
  | 'SG_PROTO_MALFORMED'
  | 'SG_PROTO_UNKNOWN_TYPE'
  | 'SG_PROTO_FIELD_INVALID'
  | 'SG_PROTO_TOO_LARGE'
  | 'SG_PROTO_OUT_OF_ORDER'
  | 'SG_FLOW_WINDOW_EXCEEDED'
  | 'SG_VIEWER_READ_ONLY'
  | 'SG_HANDSHAKE_INVALID'
  | 'SG_AUTH_MALFORMED'
>;

/**
 * Why a frame (or a handshake value) was refused: a registry code to branch on and a message
 * that names the frame, the field and the bound. Messages never echo received strings.
 */
export interface ProtocolError {
  readonly code: ProtocolErrorCode;
  readonly message: string;
}

export type Failure = { readonly ok: false; readonly error: ProtocolError };
export type DecodeResult<F> = { readonly ok: true; readonly frame: F } | Failure;
/** `payload` is what to pass to WebSocket `send`: a string goes as text, bytes as binary. */
export type EncodeResult<P> = { readonly ok: true; readonly payload: P } | Failure;

export function failure(code: ProtocolErrorCode, message: string): Failure {
  return { ok: false, error: { code, message } };
}
