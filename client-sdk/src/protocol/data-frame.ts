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

interface DataHeader {
  readonly channelId: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

function decodeHeader(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<DataHeader> {
  if (bytes.byteLength > maxDataFrameBytes) {
    return failure('SG_PROTO_TOO_LARGE', `data frame of ${bytes.byteLength} bytes exceeds maxDataFrameBytes ${maxDataFrameBytes}`);
  }
  if (bytes.byteLength < DATA_HEADER_BYTES) {
    return failure('SG_PROTO_MALFORMED', `data frame of ${bytes.byteLength} bytes is shorter than its ${DATA_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(1);
  if (high > MAX_SAFE_HIGH) return failure('SG_PROTO_FIELD_INVALID', 'data frame offset exceeds 2^53 - 1');
  const offset = high * TWO_POW_32 + view.getUint32(5);
  const data = bytes.subarray(DATA_HEADER_BYTES);
  if (data.byteLength === 0) return failure('SG_PROTO_FIELD_INVALID', 'data frame has an empty payload');
  if (offset + data.byteLength > PROTOCOL_LIMITS.maxOffset) {
    return failure('SG_PROTO_FIELD_INVALID', 'data frame ends beyond offset 2^53 - 1');
  }
  return { ok: true, frame: { channelId: view.getUint8(0), offset, data } };
}

export function decodeOutputFrame(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<OutputFrame> {
  const header = decodeHeader(bytes, maxDataFrameBytes);
  if (!header.ok) return header;
  const { channelId, offset, data } = header.frame;
  const channel = outputChannel(channelId);
  if (channel === undefined) return failure('SG_PROTO_UNKNOWN_TYPE', `channel ${channelId} is not a server-to-client channel (0 stdout, 1 stderr)`);
  return { ok: true, frame: { type: 'output', channel, offset, data } };
}

export function decodeStdinFrame(bytes: Uint8Array, maxDataFrameBytes: number): DecodeResult<StdinFrame> {
  const header = decodeHeader(bytes, maxDataFrameBytes);
  if (!header.ok) return header;
  const { channelId, offset, data } = header.frame;
  if (channelId !== CHANNEL_IDS.stdin) {
    return failure('SG_PROTO_UNKNOWN_TYPE', `channel ${channelId} is not a client-to-server channel (2 stdin)`);
  }
  return { ok: true, frame: { type: 'stdin', offset, data } };
}

export function encodeDataFrame(frame: OutputFrame | StdinFrame, maxDataFrameBytes: number): EncodeResult<Uint8Array> {
  const problem = dataFrameProblem(frame, maxDataFrameBytes);
  if (problem !== undefined) return problem;
  const bytes = new Uint8Array(DATA_HEADER_BYTES + frame.data.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, frame.type === 'stdin' ? CHANNEL_IDS.stdin : CHANNEL_IDS[frame.channel]);
  view.setUint32(1, Math.floor(frame.offset / TWO_POW_32));
  view.setUint32(5, frame.offset % TWO_POW_32);
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
