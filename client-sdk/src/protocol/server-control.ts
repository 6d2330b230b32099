import { assertNever } from './assert-never.js';
import { FieldReader } from './field-reader.js';
import {
  EXIT_REASONS,
  EXIT_SIGNAL_NAMES,
  NOTICE_KINDS,
  RESOURCES,
  SESSION_KINDS,
  type ExitFrame,
  type HelloFrame,
  type NoticeFrame,
  type ServerFrame,
  type SessionLimits,
} from './frames.js';
import { PROTOCOL_LIMITS } from './limits.js';
import { failure, type DecodeResult } from './protocol-error.js';
import { ERROR_CODE_RULE, MESSAGE_RULE, RESUME_TOKEN_RULE, SESSION_ID_RULE } from './text-rules.js';

/** Server frames that travel as JSON text (output is binary). */
export type ServerControlFrame = Exclude<ServerFrame, { type: 'output' }>;
export type ServerControlType = ServerControlFrame['type'];

const SERVER_CONTROL_TYPES = ['hello', 'attached', 'stdin-ack', 'notice', 'exit', 'error'] as const satisfies readonly ServerControlType[];

/** Reads one server control frame from an untrusted JSON object (see readClientControl). */
export function readServerControl(source: Readonly<Record<string, unknown>>, type: string): DecodeResult<ServerControlFrame> {
  const known = SERVER_CONTROL_TYPES.find((candidate) => candidate === type);
  if (known === undefined) return failure('SG_PROTO_UNKNOWN_TYPE', unknownServerType(type));
  const fields = new FieldReader(source, known);
  fields.has('type');
  const frame = readFields(known, fields);
  const problem = fields.finish();
  return problem === undefined ? { ok: true, frame } : { ok: false, error: problem };
}

function readFields(type: ServerControlType, fields: FieldReader): ServerControlFrame {
  switch (type) {
    case 'hello':
      return readHello(fields);
    case 'attached':
      return {
        type,
        sessionId: fields.text('sessionId', SESSION_ID_RULE),
        kind: fields.oneOf('kind', SESSION_KINDS),
        outputOffset: fields.offset('outputOffset'),
        limits: fields.object('limits', readLimits),
      };
    case 'stdin-ack':
      return { type, offset: fields.offset('offset') };
    case 'notice':
      return readNotice(fields);
    case 'exit':
      return readExit(fields);
    case 'error':
      return {
        type,
        code: fields.text('code', ERROR_CODE_RULE),
        message: fields.text('message', MESSAGE_RULE),
        fatal: fields.boolean('fatal'),
      };
    default:
      return assertNever(type, 'server control type');
  }
}

function readHello(fields: FieldReader): HelloFrame {
  const frame: HelloFrame = {
    type: 'hello',
    sessionId: fields.text('sessionId', SESSION_ID_RULE),
    resumeToken: fields.text('resumeToken', RESUME_TOKEN_RULE),
    kind: fields.oneOf('kind', SESSION_KINDS),
    resumed: fields.boolean('resumed'),
    outputOffset: fields.offset('outputOffset'),
    stdinOffset: fields.offset('stdinOffset'),
    stdinClosed: fields.boolean('stdinClosed'),
    limits: fields.object('limits', readLimits),
  };
  if (!frame.resumed && (frame.outputOffset !== 0 || frame.stdinOffset !== 0 || frame.stdinClosed)) {
    fields.invalid('a new session (resumed false) starts at offsets 0 with stdin open');
  }
  return frame;
}

function readLimits(fields: FieldReader): SessionLimits {
  const { minFrameOrWindowBytes: min, maxWindowBytes, maxDurationMs } = PROTOCOL_LIMITS;
  return {
    maxControlFrameBytes: fields.integer('maxControlFrameBytes', min, PROTOCOL_LIMITS.maxControlFrameBytes),
    maxDataFrameBytes: fields.integer('maxDataFrameBytes', min, PROTOCOL_LIMITS.maxDataFrameBytes),
    outputWindowBytes: fields.integer('outputWindowBytes', min, maxWindowBytes),
    stdinWindowBytes: fields.integer('stdinWindowBytes', min, maxWindowBytes),
    stdinBytesPerSecond: fields.integer('stdinBytesPerSecond', 0, PROTOCOL_LIMITS.maxStdinBytesPerSecond),
    resumeGraceMs: fields.integer('resumeGraceMs', 0, maxDurationMs),
    idleTimeoutMs: fields.integer('idleTimeoutMs', 0, maxDurationMs),
  };
}

function readNotice(fields: FieldReader): NoticeFrame {
  const kind = fields.oneOf('kind', NOTICE_KINDS);
  switch (kind) {
    case 'throttled':
      return { type: 'notice', kind, resource: fields.oneOf('resource', RESOURCES), message: fields.text('message', MESSAGE_RULE) };
    case 'quota-warning':
      return {
        type: 'notice',
        kind,
        resource: fields.oneOf('resource', RESOURCES),
        used: fields.offset('used'),
        limit: fields.offset('limit'),
        message: fields.text('message', MESSAGE_RULE),
      };
    case 'shutting-down':
      return { type: 'notice', kind, graceMs: fields.integer('graceMs', 0, PROTOCOL_LIMITS.maxDurationMs), message: fields.text('message', MESSAGE_RULE) };
    case 'resume-truncated': {
      const frame = {
        type: 'notice',
        kind,
        requestedOffset: fields.offset('requestedOffset'),
        resumedOffset: fields.offset('resumedOffset'),
        message: fields.text('message', MESSAGE_RULE),
      } as const;
      if (frame.resumedOffset <= frame.requestedOffset) fields.invalid('resumedOffset must be greater than requestedOffset');
      return frame;
    }
    default:
      return assertNever(kind, 'notice kind');
  }
}

function readExit(fields: FieldReader): ExitFrame {
  const frame: ExitFrame = {
    type: 'exit',
    outputOffset: fields.offset('outputOffset'),
    code: fields.integerOrNull('code', PROTOCOL_LIMITS.exitCode.min, PROTOCOL_LIMITS.exitCode.max),
    signal: fields.oneOfOrNull('signal', EXIT_SIGNAL_NAMES),
    reason: fields.oneOf('reason', EXIT_REASONS),
    usage: fields.object('usage', (usage) => ({
      cpuMs: usage.offset('cpuMs'),
      peakMemoryBytes: usage.offset('peakMemoryBytes'),
      wallMs: usage.offset('wallMs'),
    })),
  };
  if ((frame.code === null) === (frame.signal === null)) fields.invalid('exactly one of code and signal is set');
  if (frame.reason === 'exited' && frame.code === null) fields.invalid('reason exited needs a code');
  return frame;
}

function unknownServerType(type: string): string {
  if (type === 'output') return 'output travels as a binary frame (channel 0 or 1), not as JSON';
  const shown = /^[a-z-]{1,16}$/.test(type) ? `"${type}"` : `of ${type.length} characters`;
  return `frame type ${shown} is not a server-to-client control frame (hello attached stdin-ack notice exit error)`;
}
