import { ERROR_CODES, isErrorCode, type ErrorCode } from '../errors/error-codes.js';
import { fitUtf8, toWireMessage } from './text-rules.js';
import { utf8ByteLength } from './utf8.js';

/**
 * How a connection ends. A close carries the registry code's WebSocket close code and a reason
 * `SG_CODE: message` (RFC 6455 §5.5.1 allows 123 bytes of reason), so a client learns the
 * exact code even when several codes share a close code (4400 covers every bad request).
 */

/** RFC 6455 §7.4.1. */
export const CLOSE_CODES = {
  /** After the exit frame: the session is over. */
  normal: 1000,
  /** The gateway is shutting down (after a shutting-down notice). */
  goingAway: 1001,
  /** ws closes with it by itself when a message exceeds maxPayload, without a reason. */
  messageTooBig: 1009,
} as const;

export const MAX_CLOSE_REASON_BYTES = 123;

export interface CloseFrame {
  readonly closeCode: number;
  readonly reason: string;
}

/** The close code and reason for ending a connection with `code`. */
export function closeFor(code: ErrorCode, message = ''): CloseFrame {
  const clean = toWireMessage(message);
  const text = clean.length === 0 ? code : `${code}: ${clean}`;
  return { closeCode: ERROR_CODES[code].wsCloseCode, reason: fitUtf8(text, MAX_CLOSE_REASON_BYTES) };
}

/**
 * The registry code a close stands for: the code at the start of the reason when it is one
 * this SDK knows, else SG_PROTO_TOO_LARGE for ws's own 1009, else undefined (a normal close,
 * or a code from a newer gateway: read `reason`).
 */
export function errorCodeOfClose(closeCode: number, reason: string): ErrorCode | undefined {
  if (utf8ByteLength(reason) <= MAX_CLOSE_REASON_BYTES) {
    const head = /^(SG_[A-Z0-9_]+)(?::|$)/.exec(reason)?.[1];
    if (head !== undefined && isErrorCode(head)) return head;
  }
  return closeCode === CLOSE_CODES.messageTooBig ? 'SG_PROTO_TOO_LARGE' : undefined;
}
