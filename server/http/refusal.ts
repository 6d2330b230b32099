import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, type ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { toWireMessage } from '../../client-sdk/src/protocol/text-rules.js';
import { redactTokens } from '../auth/token-extract.js';

/**
 * Refusals as HTTP responses: the registry code's status, `Content-Type: application/json`,
 * the body `{"code", "message"}`, and `Retry-After` when retrying can help. Before an upgrade
 * the response is written to the raw socket (node has detached its HTTP machinery from it),
 * then the socket is closed. Messages pass through toWireMessage (no control characters, so
 * no header or log injection; at most 1 KiB) and redactTokens.
 */

export interface HttpRefusal {
  readonly code: ErrorCode;
  readonly message: string;
  /** Seconds, for 429 and 503. */
  readonly retryAfterSec?: number;
  /** Extra response headers (e.g. Sec-WebSocket-Version for 426). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function refusalStatus(refusal: HttpRefusal): number {
  return ERROR_CODES[refusal.code].httpStatus;
}

export function refusalBody(refusal: HttpRefusal): string {
  return JSON.stringify({ code: refusal.code, message: redactTokens(toWireMessage(refusal.message)) });
}

/** Headers every JSON answer carries: never cached, never sniffed as HTML. */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
});

function refusalHeaders(refusal: HttpRefusal, body: string): Record<string, string> {
  return {
    ...JSON_HEADERS,
    'Content-Length': String(Buffer.byteLength(body)),
    ...(refusal.retryAfterSec === undefined ? {} : { 'Retry-After': String(refusal.retryAfterSec) }),
    ...refusal.headers,
  };
}

/**
 * Answers an upgrade request on its raw socket and closes it. As ws's abortHandshake does, the
 * socket is destroyed once the response is flushed ('finish'): a half-closed socket would
 * otherwise wait for the client's FIN, and a hostile client never sends one.
 */
export function writeRawRefusal(socket: Duplex, refusal: HttpRefusal): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = refusalStatus(refusal);
  const body = refusalBody(refusal);
  const headers = { ...refusalHeaders(refusal, body), Connection: 'close' };
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Answers a plain HTTP request with a refusal. */
export function sendRefusal(res: ServerResponse, refusal: HttpRefusal): void {
  const body = refusalBody(refusal);
  res.writeHead(refusalStatus(refusal), refusalHeaders(refusal, body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
