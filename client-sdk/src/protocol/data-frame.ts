import { CHANNEL_IDS, DATA_HEADER_BYTES, type OutputChannel, type OutputFrame, type StdinFrame } from './frames.js';
import { PROTOCOL_LIMITS } from './limits.js';
import { failure, type DecodeResult, type EncodeResult, type Failure } from './protocol-error.js';

/**
 * Data frames: terminal bytes as binary WebSocket messages, never JSON strings.
 *
 *   byte 0      channel: 0 stdout (the PTY's output in a pty session), 1 stderr, 2 stdin
 *   bytes 1–8   offset of the payload's first byte in its stream, unsigned big-endian, ≤ 2^53 − 1
 *   bytes 9–    payload, at least one byte
 *
 * The explicit offset makes a gap or a repeat visible on the frame itself (the receiver
 * compares it with the bytes it has), which is what exactly-once delivery across a resume
 * rests on. It costs 8 bytes per frame; 2^32 would wrap after 4 GiB of output.
 */

const TWO_POW_32 = 0x1_0000_0000;
/** High 32 bits of Number.MAX_SAFE_INTEGER. */
const MAX_SAFE_HIGH = 0x1f_ffff;

/**
 * The header is read and written byte by byte rather than through a DataView: these run once
 * per keystroke and per output chunk on both ends, and a DataView is an allocation each time.
 */
function readOffset(bytes: Uint8Array): number {
  const high = ((bytes[1] ?? 0) << 24 | (bytes[2] ?? 0) << 16 | (bytes[3] ?? 0) << 8 | (bytes[4] ?? 0)) >>> 0;
  const low = ((bytes[5] ?? 0) << 24 | (bytes[6] ?? 0) << 16 | (bytes[7] ?? 0) << 8 | (bytes[8] ?? 0)) >>> 0;
  return high > MAX_SAFE_HIGH ? -1 : high * TWO_POW_32 + low;
}

function writeOffset(bytes: Uint8Array, offset: number): void {
  const high = Math.floor(offset / TWO_POW_32);
  const low = offset % TWO_POW_32;
  bytes[1] = high >>> 24;
  bytes[2] = (high >>> 16) & 0xff;
  bytes[3] = (high >>> 8) & 0xff;
  bytes[4] = high & 0xff;
  bytes[5] = low >>> 24;
  bytes[6] = (low >>> 16) & 0xff;
  bytes[7] = (low >>> 8) & 0xff;
  bytes[8] = low & 0xff;
}

/** The header's problem, if any: size, offset range, a payload of at least one byte. */
function headerProblem(bytes: Uint8Array, offset: number, maxDataFrameBytes: number): Failure | undefined {
  if (bytes.byteLength > maxDataFrameBytes) {
    return failure('SG_PROTO_TOO_LARGE', `data frame of ${bytes.byteLength} bytes exceeds maxDataFrameBytes ${maxDataFrameBytes}`);
  }
  if (bytes.byteLength < DATA_HEADER_BYTES) {
    return failure('SG_PROTO_MALFORMED', `data frame of ${bytes.byteLength} bytes is shorter than its ${DATA_HEADER_BYTES}-byte header`);
  }
  if (offset < 0) return failure('SG_PROTO_FIELD_INVALID', 'data frame offset exceeds 2^53 - 1');
  const payloadBytes = bytes.byteLength - DATA_HEADER_BYTES;
  if (payloadBytes === 0) return failure('SG_PROTO_FIELD_INVALID', 'data frame has an empty payload');
  if (offset + payloadBytes > PROTOCOL_LIMITS.maxOffset) {
    return failure('SG_PROTO_FIELD_INVALID', 'data frame ends beyond offset 2^53 - 1');
  }
  return undefined;
}

export function decodeOutputFrame(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<OutputFrame> {
  const offset = bytes.byteLength >= DATA_HEADER_BYTES ? readOffset(bytes) : 0;
  const problem = headerProblem(bytes, offset, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const channelId = bytes[0];
  const channel = outputChannel(channelId);
  if (channel === undefined) return failure('SG_PROTO_UNKNOWN_TYPE', `channel ${channelId} is not a server-to-client channel (0 stdout, 1 stderr)`);
  return { ok: true, frame: { type: 'output', channel, offset, data: bytes.subarray(DATA_HEADER_BYTES) } };
}

export function decodeStdinFrame(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<StdinFrame> {
  const offset = bytes.byteLength >= DATA_HEADER_BYTES ? readOffset(bytes) : 0;
  const problem = headerProblem(bytes, offset, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const channelId = bytes[0];
  if (channelId !== CHANNEL_IDS.stdin) {
    return failure('SG_PROTO_UNKNOWN_TYPE', `channel ${channelId} is not a client-to-server channel (2 stdin)`);
  }
  return { ok: true, frame: { type: 'stdin', offset, data: bytes.subarray(DATA_HEADER_BYTES) } };
}

export function encodeDataFrame(frame: OutputFrame | StdinFrame, maxDataFrameBytes: number): EncodeResult<Uint8Array> {
  const problem = dataFrameProblem(frame, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const bytes = new Uint8Array(DATA_HEADER_BYTES + frame.data.byteLength);
  bytes[0] = frame.type === 'stdin' ? CHANNEL_IDS.stdin : CHANNEL_IDS[frame.channel];
  writeOffset(bytes, frame.offset);
  bytes.set(frame.data, DATA_HEADER_BYTES);
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
  const total = DATA_HEADER_BYTES + frame.data.byteLength;
  if (total > maxDataFrameBytes) {
    return failure('SG_PROTO_TOO_LARGE', `${name} frame of ${total} bytes exceeds maxDataFrameBytes ${maxDataFrameBytes}`);
  }
  return undefined;
}

function outputChannel(id: number | undefined): OutputChannel | undefined {
  if (id === CHANNEL_IDS.stdout) return 'stdout';
  if (id === CHANNEL_IDS.stderr) return 'stderr';
  return undefined;
}
