import { CHANNEL_IDS, OUTPUT_HEADER_BYTES, STDIN_HEADER_BYTES, type OutputChannel, type OutputFrame, type StdinFrame } from './frames.js';
import { PROTOCOL_LIMITS } from './limits.js';
import { failure, type DecodeResult, type EncodeResult, type Failure } from './protocol-error.js';

/**
 * Data frames: terminal bytes as binary WebSocket messages, never JSON strings.
 *
 *   byte 0      channel: 0 stdout (the PTY's output in a pty session), 1 stderr, 2 stdin
 *   bytes 1–8   offset of the payload's first byte in its stream, unsigned big-endian, ≤ 2^53 − 1
 *   bytes 9–16  output frames only: stdin bytes the process has taken (the stdin-ack), same form
 *   then        payload, at least one byte
 *
 * The explicit offset makes a gap or a repeat visible on the frame itself (the receiver
 * compares it with the bytes it has), which is what exactly-once delivery across a resume
 * rests on. It costs 8 bytes per frame; 2^32 would wrap after 4 GiB of output. The stdin
 * acknowledgement in every output frame makes a keystroke and its echo one message each way
 * (TCP piggybacks its ACKs on data the same way): 8 more bytes instead of a message.
 */

const TWO_POW_32 = 0x1_0000_0000;
/** High 32 bits of Number.MAX_SAFE_INTEGER. */
const MAX_SAFE_HIGH = 0x1f_ffff;

/**
 * The header is read and written byte by byte rather than through a DataView: these run once
 * per keystroke and per output chunk on both ends, and a DataView is an allocation each time.
 */
/** The unsigned 64-bit big-endian number at `at`, or -1 above 2^53 − 1. */
function readOffset(bytes: Uint8Array, at: number): number {
  const high = (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
  const low = (((bytes[at + 4] ?? 0) << 24) | ((bytes[at + 5] ?? 0) << 16) | ((bytes[at + 6] ?? 0) << 8) | (bytes[at + 7] ?? 0)) >>> 0;
  return high > MAX_SAFE_HIGH ? -1 : high * TWO_POW_32 + low;
}

function writeOffset(bytes: Uint8Array, at: number, offset: number): void {
  const high = Math.floor(offset / TWO_POW_32);
  const low = offset % TWO_POW_32;
  bytes[at] = high >>> 24;
  bytes[at + 1] = (high >>> 16) & 0xff;
  bytes[at + 2] = (high >>> 8) & 0xff;
  bytes[at + 3] = high & 0xff;
  bytes[at + 4] = low >>> 24;
  bytes[at + 5] = (low >>> 16) & 0xff;
  bytes[at + 6] = (low >>> 8) & 0xff;
  bytes[at + 7] = low & 0xff;
}

/** The header's problem, if any: size, offset range, a payload of at least one byte. */
function headerProblem(bytes: Uint8Array, headerBytes: number, offset: number, maxDataFrameBytes: number): Failure | undefined {
  if (bytes.byteLength > maxDataFrameBytes) {
    return failure('SG_PROTO_TOO_LARGE', `data frame of ${bytes.byteLength} bytes exceeds maxDataFrameBytes ${maxDataFrameBytes}`);
  }
  if (bytes.byteLength < headerBytes) {
    return failure('SG_PROTO_MALFORMED', `data frame of ${bytes.byteLength} bytes is shorter than its ${headerBytes}-byte header`);
  }
  if (offset < 0) return failure('SG_PROTO_FIELD_INVALID', 'data frame offset exceeds 2^53 - 1');
  const payloadBytes = bytes.byteLength - headerBytes;
  if (payloadBytes === 0) return failure('SG_PROTO_FIELD_INVALID', 'data frame has an empty payload');
  if (offset + payloadBytes > PROTOCOL_LIMITS.maxOffset) {
    return failure('SG_PROTO_FIELD_INVALID', 'data frame ends beyond offset 2^53 - 1');
  }
  return undefined;
}

export function decodeOutputFrame(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<OutputFrame> {
  const whole = bytes.byteLength >= OUTPUT_HEADER_BYTES;
  const offset = whole ? readOffset(bytes, 1) : 0;
  const problem = headerProblem(bytes, OUTPUT_HEADER_BYTES, offset, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const channelId = bytes[0];
  const channel = outputChannel(channelId);
  if (channel === undefined) return failure('SG_PROTO_UNKNOWN_TYPE', `channel ${channelId} is not a server-to-client channel (0 stdout, 1 stderr)`);
  const stdinAck = readOffset(bytes, 9);
  if (stdinAck < 0) return failure('SG_PROTO_FIELD_INVALID', 'output frame stdin acknowledgement exceeds 2^53 - 1');
  return { ok: true, frame: { type: 'output', channel, offset, stdinAck, data: bytes.subarray(OUTPUT_HEADER_BYTES) } };
}

export function decodeStdinFrame(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<StdinFrame> {
  const offset = bytes.byteLength >= STDIN_HEADER_BYTES ? readOffset(bytes, 1) : 0;
  const problem = headerProblem(bytes, STDIN_HEADER_BYTES, offset, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const channelId = bytes[0];
  if (channelId !== CHANNEL_IDS.stdin) {
    return failure('SG_PROTO_UNKNOWN_TYPE', `channel ${channelId} is not a client-to-server channel (2 stdin)`);
  }
  return { ok: true, frame: { type: 'stdin', offset, data: bytes.subarray(STDIN_HEADER_BYTES) } };
}

export function encodeDataFrame(frame: OutputFrame | StdinFrame, maxDataFrameBytes: number): EncodeResult<Uint8Array> {
  const problem = dataFrameProblem(frame, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const headerBytes = headerBytesOf(frame);
  const bytes = new Uint8Array(headerBytes + frame.data.byteLength);
  if (frame.type === 'stdin') {
    bytes[0] = CHANNEL_IDS.stdin;
  } else {
    bytes[0] = CHANNEL_IDS[frame.channel];
    writeOffset(bytes, 9, frame.stdinAck);
  }
  writeOffset(bytes, 1, frame.offset);
  bytes.set(frame.data, headerBytes);
  return { ok: true, payload: bytes };
}

/** The same checks decode makes, on a frame built in memory (its types may have been bypassed). */
function dataFrameProblem(frame: OutputFrame | StdinFrame, maxDataFrameBytes: number): Failure | undefined {
  const name = frame.type;
  if (frame.type === 'output' && outputChannel(CHANNEL_IDS[frame.channel]) === undefined) {
    return failure('SG_PROTO_FIELD_INVALID', 'output.channel: expected stdout or stderr');
  }
  if (!(frame.data instanceof Uint8Array) || frame.data.byteLength === 0) {
    return failure('SG_PROTO_FIELD_INVALID', `${name}.data: expected a non-empty Uint8Array`);
  }
  if (!Number.isSafeInteger(frame.offset) || frame.offset < 0 || frame.offset + frame.data.byteLength > PROTOCOL_LIMITS.maxOffset) {
    return failure('SG_PROTO_FIELD_INVALID', `${name}.offset: expected an integer in 0..2^53 - 1 for the frame's last byte too`);
  }
  if (frame.type === 'output' && !(Number.isSafeInteger(frame.stdinAck) && frame.stdinAck >= 0)) {
    return failure('SG_PROTO_FIELD_INVALID', 'output.stdinAck: expected an integer in 0..2^53 - 1');
  }
  const total = headerBytesOf(frame) + frame.data.byteLength;
  if (total > maxDataFrameBytes) {
    return failure('SG_PROTO_TOO_LARGE', `${name} frame of ${total} bytes exceeds maxDataFrameBytes ${maxDataFrameBytes}`);
  }
  return undefined;
}

function headerBytesOf(frame: OutputFrame | StdinFrame): number {
  return frame.type === 'stdin' ? STDIN_HEADER_BYTES : OUTPUT_HEADER_BYTES;
}

function outputChannel(id: number | undefined): OutputChannel | undefined {
  if (id === CHANNEL_IDS.stdout) return 'stdout';
  if (id === CHANNEL_IDS.stderr) return 'stderr';
  return undefined;
}
