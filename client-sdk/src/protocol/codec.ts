import { readClientControl } from './client-control.js';
import { decodeOutputFrame, decodeStdinFrame, encodeDataFrame } from './data-frame.js';
import { isPlainObject } from './field-reader.js';
import type { ClientFrame, ServerFrame, WireMessage } from './frames.js';
import { CEILING_FRAME_LIMITS, type FrameLimits } from './limits.js';
import { failure, type DecodeResult, type EncodeResult } from './protocol-error.js';
import { readServerControl } from './server-control.js';
import { decodeUtf8, utf8ByteLength } from './utf8.js';

/**
 * The one codec of the sandgate protocol, for both ends: the server decodes client frames and
 * encodes server frames, the SDK the reverse. Decoding never throws: any input, however
 * broken, gives `{ ok: false, error }` with a registry code. Encoding applies the same
 * validation, so neither end can put a frame on the wire that the other would refuse.
 *
 * Size limits are checked first, before any parsing (the WebSocket layer should already have
 * refused larger messages: ws `maxPayload`).
 */

export interface DecodeOptions {
  /**
   * Whether the message arrived as a binary WebSocket message. Default: bytes are binary, a
   * string is text. Pass `false` with bytes for a text message delivered as a Buffer (ws).
   */
  readonly binary?: boolean;
  /** Default CEILING_FRAME_LIMITS; after hello, the session's limits. */
  readonly limits?: FrameLimits;
}

export function decodeClientFrame(message: WireMessage, options: DecodeOptions = {}): DecodeResult<ClientFrame> {
  const limits = options.limits ?? CEILING_FRAME_LIMITS;
  if (isBinary(message, options)) {
    return message instanceof Uint8Array ? decodeStdinFrame(message, limits.maxDataFrameBytes) : notAMessage();
  }
  const control = parseControl(message, limits.maxControlFrameBytes);
  return control.ok ? readClientControl(control.frame.source, control.frame.type) : control;
}

export function decodeServerFrame(message: WireMessage, options: DecodeOptions = {}): DecodeResult<ServerFrame> {
  const limits = options.limits ?? CEILING_FRAME_LIMITS;
  if (isBinary(message, options)) {
    return message instanceof Uint8Array ? decodeOutputFrame(message, limits.maxDataFrameBytes) : notAMessage();
  }
  const control = parseControl(message, limits.maxControlFrameBytes);
  return control.ok ? readServerControl(control.frame.source, control.frame.type) : control;
}

/** The message to `send` for a client frame: a Uint8Array for stdin, a JSON string otherwise. */
export function encodeClientFrame(frame: ClientFrame, limits: FrameLimits = CEILING_FRAME_LIMITS): EncodeResult<WireMessage> {
  if (frame.type === 'stdin') return encodeDataFrame(frame, limits.maxDataFrameBytes);
  const source: unknown = frame;
  if (!isPlainObject(source)) return failure('SG_PROTO_MALFORMED', 'a frame to encode must be an object');
  const checked = readClientControl(source, frame.type);
  return checked.ok ? serializeControl(checked.frame, limits.maxControlFrameBytes) : checked;
}

/** The message to `send` for a server frame: a Uint8Array for output, a JSON string otherwise. */
export function encodeServerFrame(frame: ServerFrame, limits: FrameLimits = CEILING_FRAME_LIMITS): EncodeResult<WireMessage> {
  if (frame.type === 'output') return encodeDataFrame(frame, limits.maxDataFrameBytes);
  const source: unknown = frame;
  if (!isPlainObject(source)) return failure('SG_PROTO_MALFORMED', 'a frame to encode must be an object');
  const checked = readServerControl(source, frame.type);
  return checked.ok ? serializeControl(checked.frame, limits.maxControlFrameBytes) : checked;
}

function isBinary(message: WireMessage, options: DecodeOptions): boolean {
  return options.binary ?? typeof message !== 'string';
}

function notAMessage(): DecodeResult<never> {
  return failure('SG_PROTO_MALFORMED', 'a message must be a string or a Uint8Array (set binaryType to arraybuffer or nodebuffer)');
}

interface ControlSource {
  readonly type: string;
  readonly source: Readonly<Record<string, unknown>>;
}

/** Text message → JSON object with a string `type`; bytes are measured before they are decoded. */
function parseControl(message: unknown, maxBytes: number): DecodeResult<ControlSource> {
  let text: string;
  if (typeof message === 'string') {
    // UTF-8 is never shorter than the UTF-16 length, so `length` refuses most floods unmeasured.
    const bytes = message.length > maxBytes ? Infinity : utf8ByteLength(message);
    if (bytes > maxBytes) return failure('SG_PROTO_TOO_LARGE', `control frame exceeds maxControlFrameBytes ${maxBytes}`);
    if (bytes < 0) return failure('SG_PROTO_MALFORMED', 'control frame is not well-formed Unicode');
    text = message;
  } else if (message instanceof Uint8Array) {
    if (message.byteLength > maxBytes) {
      return failure('SG_PROTO_TOO_LARGE', `control frame of ${message.byteLength} bytes exceeds maxControlFrameBytes ${maxBytes}`);
    }
    const decoded = decodeUtf8(message);
    if (decoded === undefined) return failure('SG_PROTO_MALFORMED', 'control frame is not valid UTF-8');
    text = decoded;
  } else {
    return notAMessage();
  }
  const parsed = parseJson(text);
  if (parsed === NOT_JSON) return failure('SG_PROTO_MALFORMED', 'control frame is not valid JSON');
  if (!isPlainObject(parsed)) return failure('SG_PROTO_MALFORMED', 'control frame is not a JSON object');
  const type = Object.prototype.hasOwnProperty.call(parsed, 'type') ? parsed['type'] : undefined;
  if (typeof type !== 'string') return failure('SG_PROTO_MALFORMED', 'control frame has no string field "type"');
  return { ok: true, frame: { type, source: parsed } };
}

const NOT_JSON: unique symbol = Symbol('not JSON');

/**
 * JSON.parse without a reviver runs no user code, so whatever it throws is about the text: a
 * SyntaxError (ECMA-262 §25.5.1), or in some engines a RangeError / InternalError for deep
 * nesting (V8 parses iteratively; SpiderMonkey and JSC may not). All mean "not a frame".
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

function serializeControl(frame: object, maxBytes: number): EncodeResult<string> {
  const text = JSON.stringify(frame);
  const bytes = utf8ByteLength(text);
  if (bytes > maxBytes) return failure('SG_PROTO_TOO_LARGE', `control frame of ${bytes} bytes exceeds maxControlFrameBytes ${maxBytes}`);
  return { ok: true, payload: text };
}
