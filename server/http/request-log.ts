import type { IncomingMessage } from 'node:http';
import { describeUntrusted } from '../auth/auth-error.js';
import { redactTokens } from '../auth/token-extract.js';

/**
 * Structured log lines (one JSON object per line, on stderr by default) for the http step.
 * No token ever reaches a line: records are built from chosen fields only (never a header
 * or a query string), and the finished line goes through redactTokens as well, so a token
 * that slipped into a message or a path is replaced by its fingerprint.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  /** Dotted event name: `upgrade.refused`, `upgrade.admitted`, `gateway.listening`… */
  readonly event: string;
  readonly level?: LogLevel;
  readonly [field: string]: unknown;
}

export type RequestLog = (record: LogRecord) => void;

export function createRequestLog(write: (line: string) => void = (line) => void process.stderr.write(line), now: () => number = Date.now): RequestLog {
  return (record) => {
    let line: string;
    try {
      line = JSON.stringify({ time: new Date(now()).toISOString(), level: record.level ?? 'info', ...record });
    } catch {
      // A record that cannot be serialised (a BigInt, a cycle) still leaves a trace.
      line = JSON.stringify({ time: new Date(now()).toISOString(), level: 'error', event: 'log.unserialisable', of: record.event });
    }
    write(`${redactTokens(line)}\n`);
  };
}

/** A log that drops everything (tests, embedding). */
export const SILENT_LOG: RequestLog = () => undefined;

/**
 * The loggable facts of a request: method, path without its query (where tokens are put by
 * mistake), peer address, and the Origin only as describeUntrusted shows it.
 */
export function requestFields(req: IncomingMessage): Record<string, unknown> {
  const url = req.url ?? '';
  const path = url.split('?', 1)[0] ?? '';
  return {
    method: describeUntrusted(req.method),
    path: describeUntrusted(redactTokens(path)),
    remote: req.socket.remoteAddress ?? null,
    ...(req.headers.origin === undefined ? {} : { origin: describeUntrusted(req.headers.origin) }),
  };
}
