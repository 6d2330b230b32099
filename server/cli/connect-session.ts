import WebSocket from 'ws';
import { decodeServerFrame, encodeClientFrame } from '../../client-sdk/src/protocol/codec.js';
import { errorCodeOfClose } from '../../client-sdk/src/protocol/close-reason.js';
import { clientSubprotocols } from '../../client-sdk/src/protocol/subprotocol.js';
import { STDIN_HEADER_BYTES, SUBPROTOCOL, type ClientFrame, type ExitFrame, type SessionLimits } from '../../client-sdk/src/protocol/frames.js';
import { ERROR_CODES, isErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { assertNever } from '../errors/assert-never.js';

/**
 * One protocol conversation for `sandgate connect`: open a PTY or exec session over `ws` (or
 * watch one, with `attach`), stream stdin within the server's stdin window, write output to
 * the given streams and acknowledge it only once the local stream has taken it (so a slow
 * terminal slows the sandbox, not the gateway's memory), and end with the command's exit
 * status.
 *
 * The full client SDK (transparent resume, browser) comes with its own issue; this is the
 * smallest correct client, built only on the shared codec.
 */

export interface ConnectOptions {
  readonly url: string;
  readonly token: string;
  /** PTY (interactive) when true: merged output, resize; exec otherwise (stdout/stderr apart). */
  readonly tty: boolean;
  readonly argv: readonly string[] | undefined;
  /** Watch this session read-only instead of opening one (docs/protocol.md, "Viewers"); stdin is not read. */
  readonly attach?: string;
  readonly cols: number;
  readonly rows: number;
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export type ConnectOutcome =
  | { readonly kind: 'exit'; readonly exit: ExitFrame }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string; readonly exitCode: number };

/** Acknowledge once this share of the window is consumed (fewer ack frames, no stall). */
const ACK_EVERY_WINDOW_FRACTION = 4;

export interface ConnectSession {
  readonly outcome: Promise<ConnectOutcome>;
  resize(cols: number, rows: number): void;
}

export function connectSession(options: ConnectOptions): ConnectSession {
  // A viewer offers the attach hint: it takes no session slot of its user's.
  const protocols = clientSubprotocols(undefined, options.attach === undefined ? {} : { hint: 'attach' });
  const ws = new WebSocket(options.url, protocols.ok ? [...protocols.payload] : [SUBPROTOCOL], { headers: { Authorization: `Bearer ${options.token}` }, perMessageDeflate: false });
  let limits: SessionLimits | undefined;
  let received = 0;
  let acked = 0;
  let stdinSent = 0;
  let stdinAcked = 0;
  let stdinPaused = false;
  /** A local stream refused more: acks wait for its 'drain' (one listener at a time). */
  let awaitingDrain = false;
  let settle: (outcome: ConnectOutcome) => void = () => undefined;
  const outcome = new Promise<ConnectOutcome>((resolve) => (settle = resolve));
  let settled = false;
  const finish = (result: ConnectOutcome): void => {
    if (settled) return;
    settled = true;
    options.stdin.removeListener('data', onStdin);
    options.stdin.removeListener('end', onStdinEnd);
    options.stdin.pause();
    pendingStdin = [];
    settle(result);
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  };
  const refuse = (code: string, message: string): void => {
    finish({ kind: 'refused', code, message, exitCode: isErrorCode(code) ? ERROR_CODES[code].exitCode : 1 });
  };

  const send = (frame: ClientFrame): void => {
    const encoded = encodeClientFrame(frame, limits);
    if (!encoded.ok) return refuse(encoded.error.code, encoded.error.message);
    if (ws.readyState === WebSocket.OPEN) ws.send(encoded.payload);
  };

  /** Stdin read but not yet sent: it waits for stdin-acks to open the window (bounded by one read). */
  let pendingStdin: Buffer[] = [];
  let stdinEnded = false;
  const stdinCredit = (): number => (limits === undefined ? 0 : limits.stdinWindowBytes - (stdinSent - stdinAcked));
  const flushStdin = (): void => {
    if (limits === undefined) return;
    const maxPayload = limits.maxDataFrameBytes - STDIN_HEADER_BYTES;
    while (pendingStdin.length > 0 && stdinCredit() > 0) {
      const head = pendingStdin[0];
      if (head === undefined) break;
      const data = head.subarray(0, Math.min(head.length, maxPayload, stdinCredit()));
      send({ type: 'stdin', offset: stdinSent, data });
      stdinSent += data.length;
      if (data.length === head.length) pendingStdin.shift();
      else pendingStdin[0] = head.subarray(data.length);
    }
    if (pendingStdin.length > 0 && !stdinPaused) {
      stdinPaused = true;
      options.stdin.pause();
    } else if (pendingStdin.length === 0 && stdinPaused) {
      stdinPaused = false;
      options.stdin.resume();
    }
    if (pendingStdin.length === 0 && stdinEnded && !options.tty) {
      stdinEnded = false;
      send({ type: 'stdin-close', offset: stdinSent });
    }
  };
  function onStdin(chunk: Buffer | string): void {
    pendingStdin.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    flushStdin();
  }
  function onStdinEnd(): void {
    stdinEnded = true;
    flushStdin();
  }

  const consumed = (): void => {
    if (!awaitingDrain && limits !== undefined && received - acked >= limits.outputWindowBytes / ACK_EVERY_WINDOW_FRACTION) {
      acked = received;
      send({ type: 'ack', offset: acked });
    }
  };

  ws.on('unexpected-response', (_request, response) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => {
      if (chunks.length < 64) chunks.push(chunk);
    });
    response.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const code = typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'string' ? body.code : 'SG_HANDSHAKE_INVALID';
      const message = typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string' ? body.message : `HTTP ${response.statusCode ?? '?'}`;
      refuse(code, message);
    });
  });
  ws.on('error', (error) => refuse('SG_HANDSHAKE_INVALID', error.message));
  ws.on('close', (code, reason) => {
    const text = reason.toString('utf8');
    refuse(errorCodeOfClose(code, text) ?? 'SG_PROTO_MALFORMED', `the connection closed (${code}${text === '' ? '' : `: ${text}`}) before the command exited`);
  });
  ws.on('open', () => {
    if (options.attach !== undefined) return send({ type: 'attach', sessionId: options.attach });
    send(options.tty ? { type: 'open', kind: 'pty', cols: options.cols, rows: options.rows, ...(options.argv === undefined ? {} : { argv: options.argv }) } : { type: 'open', kind: 'exec', argv: options.argv ?? ['/bin/sh'] });
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const decoded = decodeServerFrame(data, { binary: isBinary, ...(limits === undefined ? {} : { limits }) });
    if (!decoded.ok) return refuse(decoded.error.code, decoded.error.message);
    const frame = decoded.frame;
    switch (frame.type) {
      case 'hello':
        limits = frame.limits;
        options.stdin.on('data', onStdin);
        options.stdin.on('end', onStdinEnd);
        options.stdin.resume();
        return;
      case 'output': {
        received = frame.offset + frame.data.length;
        // Every output frame carries the stdin acknowledgement: it may open the stdin window.
        if (frame.stdinAck > stdinAcked) {
          stdinAcked = frame.stdinAck;
          flushStdin();
        }
        const target = frame.channel === 'stderr' ? options.stderr : options.stdout;
        // Copy: the frame's data is a view into the message.
        if (target.write(Buffer.from(frame.data))) consumed();
        else if (!awaitingDrain) {
          awaitingDrain = true;
          target.once('drain', () => {
            awaitingDrain = false;
            consumed();
          });
        }
        return;
      }
      case 'stdin-ack':
        stdinAcked = frame.offset;
        flushStdin();
        return;
      case 'notice':
        if (frame.kind === 'shutting-down' || frame.kind === 'resume-truncated' || frame.kind === 'throttled' || frame.kind === 'quota-warning') {
          options.stderr.write(`\r\nsandgate: ${frame.message}\r\n`);
        }
        return;
      case 'attached':
        if (options.attach === undefined) return refuse('SG_PROTO_OUT_OF_ORDER', 'the gateway answered with attached, but this client opened a session');
        // A viewer: output from here on, acked as it is written; no stdin is read or sent.
        limits = frame.limits;
        received = frame.outputOffset;
        acked = frame.outputOffset;
        return;
      case 'exit':
        return finish({ kind: 'exit', exit: frame });
      case 'error':
        if (frame.fatal) return refuse(frame.code, frame.message);
        options.stderr.write(`\r\nsandgate: ${frame.message} [${frame.code}]\r\n`);
        return;
      default:
        return assertNever(frame);
    }
  });

  return {
    outcome,
    resize(cols: number, rows: number): void {
      // A viewer's terminal size is its own business: the session's belongs to its owner.
      if (options.tty && options.attach === undefined && limits !== undefined) send({ type: 'resize', cols, rows });
    },
  };
}
