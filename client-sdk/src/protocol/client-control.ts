import { assertNever } from './assert-never.js';
import { FieldReader } from './field-reader.js';
import { SESSION_KINDS, SIGNAL_NAMES, type ClientFrame, type OpenFrame } from './frames.js';
import { PROTOCOL_LIMITS } from './limits.js';
import { failure, type DecodeResult } from './protocol-error.js';
import { ARG_RULE, CWD_RULE, ENV_NAME_RULE, ENV_VALUE_RULE, RESUME_TOKEN_RULE, SESSION_ID_RULE } from './text-rules.js';

/** Client frames that travel as JSON text (stdin is binary). */
export type ClientControlFrame = Exclude<ClientFrame, { type: 'stdin' }>;
export type ClientControlType = ClientControlFrame['type'];

const CLIENT_CONTROL_TYPES = ['open', 'resume', 'attach', 'resize', 'signal', 'stdin-close', 'ack'] as const satisfies readonly ClientControlType[];

/**
 * Reads one client control frame from an untrusted JSON object, field by field: every field
 * of the type present and in bounds, no other field. Used by decode, and by encode on the
 * frame it is given, so a frame the SDK sends is one the server accepts.
 */
export function readClientControl(source: Readonly<Record<string, unknown>>, type: string): DecodeResult<ClientControlFrame> {
  const known = CLIENT_CONTROL_TYPES.find((candidate) => candidate === type);
  if (known === undefined) return failure('SG_PROTO_UNKNOWN_TYPE', unknownClientType(type));
  const fields = new FieldReader(source, known);
  fields.has('type');
  const frame = readFields(known, fields);
  const problem = fields.finish();
  return problem === undefined ? { ok: true, frame } : { ok: false, error: problem };
}

function readFields(type: ClientControlType, fields: FieldReader): ClientControlFrame {
  switch (type) {
    case 'open':
      return readOpen(fields);
    case 'resume':
      return {
        type,
        sessionId: fields.text('sessionId', SESSION_ID_RULE),
        resumeToken: fields.text('resumeToken', RESUME_TOKEN_RULE),
        outputOffset: fields.offset('outputOffset'),
      };
    case 'attach': {
      const sessionId = fields.text('sessionId', SESSION_ID_RULE);
      return fields.has('outputOffset') ? { type, sessionId, outputOffset: fields.offset('outputOffset') } : { type, sessionId };
    }
    case 'resize':
      return {
        type,
        cols: fields.integer('cols', PROTOCOL_LIMITS.cols.min, PROTOCOL_LIMITS.cols.max),
        rows: fields.integer('rows', PROTOCOL_LIMITS.rows.min, PROTOCOL_LIMITS.rows.max),
      };
    case 'signal':
      return { type, signal: fields.oneOf('signal', SIGNAL_NAMES) };
    case 'stdin-close':
      return { type, offset: fields.offset('offset') };
    case 'ack':
      return { type, offset: fields.offset('offset') };
    default:
      return assertNever(type, 'client control type');
  }
}

function readOpen(fields: FieldReader): OpenFrame {
  const kind = fields.oneOf('kind', SESSION_KINDS);
  const argv = fields.has('argv') || kind === 'exec' ? fields.textList('argv', PROTOCOL_LIMITS.argvMaxItems, ARG_RULE, 1) : undefined;
  if (argv !== undefined && argv[0] === '') fields.invalid('argv[0] must not be empty');
  const env = fields.has('env') ? fields.textRecord('env', PROTOCOL_LIMITS.envMaxEntries, ENV_NAME_RULE, ENV_VALUE_RULE) : undefined;
  const cwd = fields.has('cwd') ? fields.text('cwd', CWD_RULE) : undefined;
  const optional = { ...(env === undefined ? {} : { env }), ...(cwd === undefined ? {} : { cwd }) };
  switch (kind) {
    case 'pty':
      return {
        type: 'open',
        kind,
        ...(argv === undefined ? {} : { argv }),
        cols: fields.integer('cols', PROTOCOL_LIMITS.cols.min, PROTOCOL_LIMITS.cols.max),
        rows: fields.integer('rows', PROTOCOL_LIMITS.rows.min, PROTOCOL_LIMITS.rows.max),
        ...optional,
      };
    case 'exec':
      if (fields.has('cols') || fields.has('rows')) fields.invalid('cols and rows apply to kind pty only (an exec has no terminal)');
      return { type: 'open', kind, argv: argv ?? [], ...optional };
    default:
      return assertNever(kind, 'session kind');
  }
}

function unknownClientType(type: string): string {
  if (type === 'stdin') return 'stdin travels as a binary frame (channel 2), not as JSON';
  const shown = /^[a-z-]{1,16}$/.test(type) ? `"${type}"` : `of ${type.length} characters`;
  return `frame type ${shown} is not a client-to-server control frame (open resume attach resize signal stdin-close ack)`;
}
