import test from 'ava';
import {
  CLIENT_FRAME_TYPES,
  DEFAULT_SESSION_LIMITS,
  NOTICE_KINDS,
  SERVER_FRAME_TYPES,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  toWireMessage,
  type ClientFrame,
  type ProtocolErrorCode,
  type ServerFrame,
  type WireMessage,
} from '../../../client-sdk/src/protocol/index.js';
import { CLIENT_SAMPLES, RESUME_TOKEN, SERVER_SAMPLES, SESSION_ID } from './sample-frames.js';

const json = (value: unknown): string => JSON.stringify(value);

/** A binary data frame built by hand: channel, offset as two 32-bit halves, payload. */
/** A stdin-shaped data frame (9-byte header: channel, offset), built by hand. */
function dataFrame(channel: number, offsetHigh: number, offsetLow: number, payload: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(9 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, channel);
  view.setUint32(1, offsetHigh);
  view.setUint32(5, offsetLow);
  bytes.set(payload, 9);
  return bytes;
}

/** An output-shaped data frame (17-byte header: channel, offset, stdin acknowledged), built by hand. */
function outputFrame(channel: number, offsetHigh: number, offsetLow: number, payload: readonly number[], ackHigh = 0, ackLow = 0): Uint8Array {
  const bytes = new Uint8Array(17 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, channel);
  view.setUint32(1, offsetHigh);
  view.setUint32(5, offsetLow);
  view.setUint32(9, ackHigh);
  view.setUint32(13, ackLow);
  bytes.set(payload, 17);
  return bytes;
}

// ------------------------------------------------------------------ round trips

test('every client frame type and every notice kind has a sample', (t) => {
  t.deepEqual(new Set(CLIENT_SAMPLES.map(([, frame]) => frame.type)), new Set(CLIENT_FRAME_TYPES));
  t.deepEqual(new Set(SERVER_SAMPLES.map(([, frame]) => frame.type)), new Set(SERVER_FRAME_TYPES));
  const kinds = SERVER_SAMPLES.flatMap(([, frame]) => (frame.type === 'notice' ? [frame.kind] : []));
  t.deepEqual(new Set(kinds), new Set(NOTICE_KINDS));
});

for (const [name, frame] of CLIENT_SAMPLES) {
  test(`client frame round trip: ${name}`, (t) => {
    const encoded = encodeClientFrame(frame);
    if (!encoded.ok) return t.fail(encoded.error.message);
    t.is(typeof encoded.payload === 'string', frame.type !== 'stdin', 'terminal bytes go binary, control frames as text');
    t.deepEqual(decodeClientFrame(encoded.payload), { ok: true, frame });
  });
}

for (const [name, frame] of SERVER_SAMPLES) {
  test(`server frame round trip: ${name}`, (t) => {
    const encoded = encodeServerFrame(frame);
    if (!encoded.ok) return t.fail(encoded.error.message);
    t.is(typeof encoded.payload === 'string', frame.type !== 'output', 'terminal bytes go binary, control frames as text');
    t.deepEqual(decodeServerFrame(encoded.payload), { ok: true, frame });
  });
}

test('a text message delivered as bytes (ws gives a Buffer) decodes with binary: false', (t) => {
  const bytes = new TextEncoder().encode(json({ type: 'resize', cols: 80, rows: 24 }));
  t.deepEqual(decodeClientFrame(bytes, { binary: false }), { ok: true, frame: { type: 'resize', cols: 80, rows: 24 } });
});

test('a data frame inside a larger buffer (a subarray) decodes at its own offset', (t) => {
  const outer = new Uint8Array(32).fill(0xee);
  outer.set(dataFrame(2, 0, 7, [0x61, 0x62]), 5);
  const decoded = decodeClientFrame(outer.subarray(5, 16));
  t.deepEqual(decoded, { ok: true, frame: { type: 'stdin', offset: 7, data: Uint8Array.of(0x61, 0x62) } });
});

test('the largest offset, 2^53 - 1, survives the 8-byte header', (t) => {
  const decoded = decodeServerFrame(outputFrame(0, 0x1f_ffff, 0xffff_fffe, [1], 0x1f_ffff, 0xffff_ffff));
  t.deepEqual(decoded, { ok: true, frame: { type: 'output', channel: 'stdout', offset: 2 ** 53 - 2, stdinAck: 2 ** 53 - 1, data: Uint8Array.of(1) } });
});

test('an output frame carries the stdin acknowledgement in bytes 9-16, big-endian', (t) => {
  const encoded = encodeServerFrame({ type: 'output', channel: 'stderr', offset: 5, stdinAck: 2 ** 32 + 258, data: Uint8Array.of(0x7a) });
  if (!encoded.ok || typeof encoded.payload === 'string') return t.fail('expected a binary frame');
  t.deepEqual([...encoded.payload], [1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 1, 2, 0x7a]);
  t.like(decodeServerFrame(outputFrame(0, 0, 0, [1], 0x20_0000, 0)), { ok: false, error: { code: 'SG_PROTO_FIELD_INVALID' } });
  t.like(encodeServerFrame({ type: 'output', channel: 'stdout', offset: 0, stdinAck: -1, data: Uint8Array.of(1) }), { ok: false, error: { code: 'SG_PROTO_FIELD_INVALID' } });
  t.like(decodeServerFrame(dataFrame(0, 0, 0, [1, 2, 3, 4, 5, 6, 7])), { ok: false, error: { code: 'SG_PROTO_MALFORMED' } }, 'a 16-byte frame is shorter than the output header');
});

test('an env key __proto__ stays a plain key and reaches no prototype', (t) => {
  const decoded = decodeClientFrame('{"type":"open","kind":"exec","argv":["env"],"env":{"__proto__":"x","polluted":"y"}}');
  if (!decoded.ok || decoded.frame.type !== 'open') return t.fail('expected an open frame');
  t.deepEqual(Object.keys(decoded.frame.env ?? {}), ['__proto__', 'polluted']);
  t.is(Object.getPrototypeOf(decoded.frame.env), Object.prototype);
  t.false('polluted' in {});
});

test('-0 decodes as 0, so a re-encoded frame is identical', (t) => {
  t.deepEqual(decodeClientFrame('{"type":"ack","offset":-0}'), { ok: true, frame: { type: 'ack', offset: 0 } });
});

test('toWireMessage makes any text a valid error message', (t) => {
  const message = toWireMessage(`line one\nline two\u001b[31m \ud800 ${'é'.repeat(2000)}`);
  const encoded = encodeServerFrame({ type: 'error', code: 'SG_CGROUP', message, fatal: true });
  t.true(encoded.ok);
  t.false(message.includes('\n'));
  t.true(new TextEncoder().encode(message).byteLength <= 1024);
  t.true(message.endsWith('…'));
});

// ------------------------------------------------------------------ rejections

type Row = readonly [string, WireMessage, ProtocolErrorCode];

const openExec = { type: 'open', kind: 'exec', argv: ['true'] };
const resize = { type: 'resize', cols: 80, rows: 24 };
const hello = SERVER_SAMPLES[0]?.[1];
const exit = { type: 'exit', outputOffset: 0, code: 0, signal: null, reason: 'exited', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } };

const clientRejections: Row[] = [
  ['empty text', '', 'SG_PROTO_MALFORMED'],
  ['not JSON', '{"type":"ack",', 'SG_PROTO_MALFORMED'],
  ['JSON null', 'null', 'SG_PROTO_MALFORMED'],
  ['JSON array', '[{"type":"ack","offset":0}]', 'SG_PROTO_MALFORMED'],
  ['JSON string', '"ack"', 'SG_PROTO_MALFORMED'],
  ['no type', '{"offset":0}', 'SG_PROTO_MALFORMED'],
  ['numeric type', '{"type":3}', 'SG_PROTO_MALFORMED'],
  ['unknown type', '{"type":"exec"}', 'SG_PROTO_UNKNOWN_TYPE'],
  ['a server frame type', json(hello), 'SG_PROTO_UNKNOWN_TYPE'],
  ['stdin as JSON text', '{"type":"stdin","offset":0,"data":"ls"}', 'SG_PROTO_UNKNOWN_TYPE'],
  ['type with a different case', '{"type":"ACK","offset":0}', 'SG_PROTO_UNKNOWN_TYPE'],
  ['resize cols 0', json({ ...resize, cols: 0 }), 'SG_PROTO_FIELD_INVALID'],
  ['resize cols 1001', json({ ...resize, cols: 1001 }), 'SG_PROTO_FIELD_INVALID'],
  ['resize rows fractional', json({ ...resize, rows: 24.5 }), 'SG_PROTO_FIELD_INVALID'],
  ['resize cols as a string', json({ ...resize, cols: '80' }), 'SG_PROTO_FIELD_INVALID'],
  ['resize cols null', json({ ...resize, cols: null }), 'SG_PROTO_FIELD_INVALID'],
  ['resize cols 1e309 (Infinity)', '{"type":"resize","cols":1e309,"rows":24}', 'SG_PROTO_FIELD_INVALID'],
  ['resize without rows', json({ type: 'resize', cols: 80 }), 'SG_PROTO_FIELD_INVALID'],
  ['resize with an unknown field', json({ ...resize, pixels: 1 }), 'SG_PROTO_FIELD_INVALID'],
  ['signal as a number', json({ type: 'signal', signal: 2 }), 'SG_PROTO_FIELD_INVALID'],
  ['signal with the SIG prefix', json({ type: 'signal', signal: 'SIGINT' }), 'SG_PROTO_FIELD_INVALID'],
  ['signal lower case', json({ type: 'signal', signal: 'kill' }), 'SG_PROTO_FIELD_INVALID'],
  ['signal not sendable (SEGV)', json({ type: 'signal', signal: 'SEGV' }), 'SG_PROTO_FIELD_INVALID'],
  ['ack offset negative', json({ type: 'ack', offset: -1 }), 'SG_PROTO_FIELD_INVALID'],
  ['ack offset 2^53', json({ type: 'ack', offset: 2 ** 53 }), 'SG_PROTO_FIELD_INVALID'],
  ['ack offset as a string', json({ type: 'ack', offset: '1' }), 'SG_PROTO_FIELD_INVALID'],
  ['stdin-close without offset', json({ type: 'stdin-close' }), 'SG_PROTO_FIELD_INVALID'],
  ['open with an unknown kind', json({ ...openExec, kind: 'shell' }), 'SG_PROTO_FIELD_INVALID'],
  ['open exec without argv', json({ type: 'open', kind: 'exec' }), 'SG_PROTO_FIELD_INVALID'],
  ['open exec with cols', json({ ...openExec, cols: 80, rows: 24 }), 'SG_PROTO_FIELD_INVALID'],
  ['open pty without cols', json({ type: 'open', kind: 'pty', rows: 24 }), 'SG_PROTO_FIELD_INVALID'],
  ['open with an empty argv', json({ ...openExec, argv: [] }), 'SG_PROTO_FIELD_INVALID'],
  ['open with an empty argv[0]', json({ ...openExec, argv: [''] }), 'SG_PROTO_FIELD_INVALID'],
  ['open argv with NUL', json({ ...openExec, argv: ['a\u0000b'] }), 'SG_PROTO_FIELD_INVALID'],
  ['open argv with a lone surrogate', '{"type":"open","kind":"exec","argv":["\\ud800"]}', 'SG_PROTO_FIELD_INVALID'],
  ['open argv as a string', json({ ...openExec, argv: 'ls -la' }), 'SG_PROTO_FIELD_INVALID'],
  ['open argv with 1025 items', json({ ...openExec, argv: Array.from({ length: 1025 }, () => 'x') }), 'SG_PROTO_FIELD_INVALID'],
  ['open arg over 32 KiB', json({ ...openExec, argv: ['x'.repeat(32 * 1024 + 1)] }), 'SG_PROTO_FIELD_INVALID'],
  ['open arg over 32 KiB in UTF-8 bytes, not characters', json({ ...openExec, argv: ['é'.repeat(16 * 1024 + 1)] }), 'SG_PROTO_FIELD_INVALID'],
  ['open env name starting with a digit', json({ ...openExec, env: { '1X': 'y' } }), 'SG_PROTO_FIELD_INVALID'],
  ['open env name with =', json({ ...openExec, env: { 'A=B': 'y' } }), 'SG_PROTO_FIELD_INVALID'],
  ['open env value not a string', json({ ...openExec, env: { A: 1 } }), 'SG_PROTO_FIELD_INVALID'],
  ['open env as an array', json({ ...openExec, env: ['A=1'] }), 'SG_PROTO_FIELD_INVALID'],
  ['open relative cwd', json({ ...openExec, cwd: 'home' }), 'SG_PROTO_FIELD_INVALID'],
  ['open cwd with NUL', json({ ...openExec, cwd: '/tmp\u0000' }), 'SG_PROTO_FIELD_INVALID'],
  ['open argv null (absent is the way to omit)', json({ type: 'open', kind: 'pty', cols: 1, rows: 1, argv: null }), 'SG_PROTO_FIELD_INVALID'],
  ['resume token too short', json({ type: 'resume', sessionId: SESSION_ID, resumeToken: 'short', outputOffset: 0 }), 'SG_PROTO_FIELD_INVALID'],
  ['resume session id with a slash', json({ type: 'resume', sessionId: '../../etc/passwd', resumeToken: RESUME_TOKEN, outputOffset: 0 }), 'SG_PROTO_FIELD_INVALID'],
  ['control frame over the limit', json({ ...openExec, argv: Array.from({ length: 3 }, () => 'x'.repeat(30_000)) }), 'SG_PROTO_TOO_LARGE'],
  ['binary shorter than its header', Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0), 'SG_PROTO_MALFORMED'],
  ['binary empty', new Uint8Array(0), 'SG_PROTO_MALFORMED'],
  ['binary on the stdout channel', dataFrame(0, 0, 0, [1]), 'SG_PROTO_UNKNOWN_TYPE'],
  ['binary on channel 3', dataFrame(3, 0, 0, [1]), 'SG_PROTO_UNKNOWN_TYPE'],
  ['binary on channel 255', dataFrame(255, 0, 0, [1]), 'SG_PROTO_UNKNOWN_TYPE'],
  ['binary with an empty payload', dataFrame(2, 0, 0, []), 'SG_PROTO_FIELD_INVALID'],
  ['binary offset above 2^53 - 1', dataFrame(2, 0x20_0000, 0, [1]), 'SG_PROTO_FIELD_INVALID'],
  ['binary ending beyond 2^53 - 1', dataFrame(2, 0x1f_ffff, 0xffff_ffff, [1]), 'SG_PROTO_FIELD_INVALID'],
  ['binary over the data frame ceiling', new Uint8Array(1024 * 1024 + 1).fill(2, 0, 1), 'SG_PROTO_TOO_LARGE'],
];

for (const [name, message, code] of clientRejections) {
  test(`client decode refuses ${name}: ${code}`, (t) => {
    const result = decodeClientFrame(message);
    t.false(result.ok);
    if (!result.ok) {
      t.is(result.error.code, code, result.error.message);
      t.true(result.error.message.length > 0);
    }
  });
}

const serverRejections: Row[] = [
  ['a client frame type', json(openExec), 'SG_PROTO_UNKNOWN_TYPE'],
  ['output as JSON text', '{"type":"output","offset":0,"data":"hi"}', 'SG_PROTO_UNKNOWN_TYPE'],
  ['binary on the stdin channel', outputFrame(2, 0, 0, [1]), 'SG_PROTO_UNKNOWN_TYPE'],
  ['hello without limits', json({ ...hello, limits: undefined }), 'SG_PROTO_FIELD_INVALID'],
  ['hello limits with an unknown field', json({ ...hello, limits: { ...DEFAULT_SESSION_LIMITS, turbo: true } }), 'SG_PROTO_FIELD_INVALID'],
  ['hello window below the floor', json({ ...hello, limits: { ...DEFAULT_SESSION_LIMITS, outputWindowBytes: 10 } }), 'SG_PROTO_FIELD_INVALID'],
  ['hello data frames above the ceiling', json({ ...hello, limits: { ...DEFAULT_SESSION_LIMITS, maxDataFrameBytes: 2 ** 21 } }), 'SG_PROTO_FIELD_INVALID'],
  ['hello limits as an array', json({ ...hello, limits: [] }), 'SG_PROTO_FIELD_INVALID'],
  ['hello new session at offset 5', json({ ...hello, outputOffset: 5 }), 'SG_PROTO_FIELD_INVALID'],
  ['hello kind unknown', json({ ...hello, kind: 'vm' }), 'SG_PROTO_FIELD_INVALID'],
  ['exit with both code and signal', json({ ...exit, signal: 'TERM' }), 'SG_PROTO_FIELD_INVALID'],
  ['exit with neither code nor signal', json({ ...exit, code: null, reason: 'killed' }), 'SG_PROTO_FIELD_INVALID'],
  ['exit reason exited without a code', json({ ...exit, code: null, signal: 'KILL' }), 'SG_PROTO_FIELD_INVALID'],
  ['exit code 256', json({ ...exit, code: 256 }), 'SG_PROTO_FIELD_INVALID'],
  ['exit signal as a number', json({ ...exit, code: null, signal: 9, reason: 'signaled' }), 'SG_PROTO_FIELD_INVALID'],
  ['exit without signal (null is required)', json({ ...exit, signal: undefined }), 'SG_PROTO_FIELD_INVALID'],
  ['exit usage negative', json({ ...exit, usage: { cpuMs: -1, peakMemoryBytes: 0, wallMs: 0 } }), 'SG_PROTO_FIELD_INVALID'],
  ['exit usage missing a field', json({ ...exit, usage: { cpuMs: 1, wallMs: 0 } }), 'SG_PROTO_FIELD_INVALID'],
  ['error code lower case', json({ type: 'error', code: 'sg_proto', message: '', fatal: true }), 'SG_PROTO_FIELD_INVALID'],
  ['error message with an escape sequence', json({ type: 'error', code: 'SG_X', message: '\u001b]52;c;bad\u0007', fatal: true }), 'SG_PROTO_FIELD_INVALID'],
  ['error message over 1024 bytes', json({ type: 'error', code: 'SG_X', message: 'x'.repeat(1025), fatal: true }), 'SG_PROTO_FIELD_INVALID'],
  ['error fatal as a string', json({ type: 'error', code: 'SG_X', message: '', fatal: 'yes' }), 'SG_PROTO_FIELD_INVALID'],
  ['notice of an unknown kind', json({ type: 'notice', kind: 'party', message: '' }), 'SG_PROTO_FIELD_INVALID'],
  ['notice resource unknown', json({ type: 'notice', kind: 'throttled', resource: 'gpu', message: '' }), 'SG_PROTO_FIELD_INVALID'],
  ['notice resume-truncated going backwards', json({ type: 'notice', kind: 'resume-truncated', requestedOffset: 9, resumedOffset: 9, message: '' }), 'SG_PROTO_FIELD_INVALID'],
  ['notice shutting-down with a field of another kind', json({ type: 'notice', kind: 'shutting-down', graceMs: 1, resource: 'cpu', message: '' }), 'SG_PROTO_FIELD_INVALID'],
  ['stdin-ack with a fractional offset', json({ type: 'stdin-ack', offset: 0.5 }), 'SG_PROTO_FIELD_INVALID'],
];

for (const [name, message, code] of serverRejections) {
  test(`server decode refuses ${name}: ${code}`, (t) => {
    const result = decodeServerFrame(message);
    t.false(result.ok);
    if (!result.ok) t.is(result.error.code, code, result.error.message);
  });
}

test('text bytes that are not UTF-8 are malformed', (t) => {
  const result = decodeClientFrame(Uint8Array.of(0x7b, 0xff, 0x7d), { binary: false });
  t.like(result, { ok: false, error: { code: 'SG_PROTO_MALFORMED' } });
});

test('a control frame is measured in UTF-8 bytes against the session limit', (t) => {
  const limits = { maxControlFrameBytes: 1024, maxDataFrameBytes: 1024 };
  const text = json({ ...openExec, argv: ['€'.repeat(400)] }); // about 440 characters, 1240 bytes
  t.true(text.length < 1024);
  t.like(decodeClientFrame(text, { limits }), { ok: false, error: { code: 'SG_PROTO_TOO_LARGE' } });
  t.like(decodeClientFrame(new TextEncoder().encode(text), { binary: false, limits }), { ok: false, error: { code: 'SG_PROTO_TOO_LARGE' } });
});

test('a data frame over the session limit is too large, the header counted', (t) => {
  const limits = { maxControlFrameBytes: 1024, maxDataFrameBytes: 1024 };
  t.true(decodeServerFrame(outputFrame(0, 0, 0, new Array<number>(1007).fill(1)), { limits }).ok);
  t.like(decodeServerFrame(outputFrame(0, 0, 0, new Array<number>(1008).fill(1)), { limits }), { ok: false, error: { code: 'SG_PROTO_TOO_LARGE' } });
  t.true(decodeClientFrame(dataFrame(2, 0, 0, new Array<number>(1015).fill(1)), { limits }).ok);
  t.like(decodeClientFrame(dataFrame(2, 0, 0, new Array<number>(1016).fill(1)), { limits }), { ok: false, error: { code: 'SG_PROTO_TOO_LARGE' } });
});

test('a message of another runtime type (ArrayBuffer, array of Buffers) is malformed, not a crash', (t) => {
  for (const message of [new ArrayBuffer(12), [Uint8Array.of(2)], 42, null]) {
    t.like(decodeClientFrame(message as unknown as WireMessage), { ok: false, error: { code: 'SG_PROTO_MALFORMED' } });
    t.like(decodeServerFrame(message as unknown as WireMessage, { binary: false }), { ok: false, error: { code: 'SG_PROTO_MALFORMED' } });
  }
});

test('error messages never echo received strings', (t) => {
  const secret = 'SECRET_TOKEN_VALUE_THAT_MUST_NOT_LEAK';
  for (const message of [
    json({ type: 'resume', sessionId: SESSION_ID, resumeToken: `${secret}!`, outputOffset: 0 }),
    json({ type: secret }),
    json({ ...resize, [secret]: 1 }),
    json({ ...openExec, env: { [`${secret}=`]: 'x' } }),
  ]) {
    const result = decodeClientFrame(message);
    if (result.ok) return t.fail('expected a refusal');
    t.false(result.error.message.includes(secret), result.error.message);
  }
  return undefined;
});

// ------------------------------------------------------------------ encode refuses what decode would

const badClientFrames: ReadonlyArray<readonly [string, unknown, ProtocolErrorCode]> = [
  ['resize cols 0', { type: 'resize', cols: 0, rows: 1 }, 'SG_PROTO_FIELD_INVALID'],
  ['an extra field', { type: 'ack', offset: 1, note: 'x' }, 'SG_PROTO_FIELD_INVALID'],
  ['an unknown type', { type: 'detach' }, 'SG_PROTO_UNKNOWN_TYPE'],
  ['stdin with no bytes', { type: 'stdin', offset: 0, data: new Uint8Array(0) }, 'SG_PROTO_FIELD_INVALID'],
  ['stdin with a string payload', { type: 'stdin', offset: 0, data: 'ls' }, 'SG_PROTO_FIELD_INVALID'],
  ['stdin at a fractional offset', { type: 'stdin', offset: 0.5, data: Uint8Array.of(1) }, 'SG_PROTO_FIELD_INVALID'],
  ['stdin over the data frame ceiling', { type: 'stdin', offset: 0, data: new Uint8Array(1024 * 1024) }, 'SG_PROTO_TOO_LARGE'],
];

for (const [name, frame, code] of badClientFrames) {
  test(`client encode refuses ${name}: ${code}`, (t) => {
    t.like(encodeClientFrame(frame as ClientFrame), { ok: false, error: { code } });
  });
}

test('server encode refuses output on an unknown channel and an error message with a newline', (t) => {
  const output = { type: 'output', channel: 'stdin', offset: 0, data: Uint8Array.of(1) } as unknown as ServerFrame;
  t.like(encodeServerFrame(output), { ok: false, error: { code: 'SG_PROTO_FIELD_INVALID' } });
  t.like(encodeServerFrame({ type: 'error', code: 'SG_CGROUP', message: 'a\nb', fatal: true }), { ok: false, error: { code: 'SG_PROTO_FIELD_INVALID' } });
});

test('encode drops optional fields that are undefined instead of refusing them', (t) => {
  const encoded = encodeClientFrame({ type: 'open', kind: 'pty', cols: 80, rows: 24, argv: undefined, cwd: undefined });
  t.deepEqual(encoded, { ok: true, payload: '{"type":"open","kind":"pty","cols":80,"rows":24}' });
});
