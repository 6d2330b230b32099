/**
 * Random and mutated frames through both decoders. Seeded, so a failure reproduces:
 * SANDGATE_FUZZ_SEED=<seed printed in the failure> npx ava dist/test/unit/protocol/codec-fuzz.test.js
 * Properties: decode never throws; it returns a frame or a protocol error code with a message;
 * a decoded frame re-encodes, decodes to the same frame, and encodes to the same bytes again.
 */
import test, { type ExecutionContext } from 'ava';
import { isDeepStrictEqual } from 'node:util';
import {
  CLIENT_FRAME_TYPES,
  DEFAULT_SESSION_LIMITS,
  EXIT_REASONS,
  EXIT_SIGNAL_NAMES,
  RESOURCES,
  SERVER_FRAME_TYPES,
  SIGNAL_NAMES,
  advance,
  assertNever,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  startConversation,
  type ClientFrame,
  type ProtocolErrorCode,
  type ServerFrame,
  type WireMessage,
} from '../../../client-sdk/src/protocol/index.js';
import { CLIENT_SAMPLES, RESUME_TOKEN, SERVER_SAMPLES, SESSION_ID } from './sample-frames.js';
import { SeededRandom } from '../../helpers/seeded-random.js';

const SEED = Number(process.env['SANDGATE_FUZZ_SEED'] ?? 0x5eed_0001);
const VALID_FRAMES_PER_DIRECTION = 2000;
const MUTATIONS_PER_FRAME = 6;
const GARBAGE_INPUTS = 3000;

const PROTOCOL_CODES: ReadonlySet<ProtocolErrorCode> = new Set<ProtocolErrorCode>([
  'SG_PROTO_MALFORMED',
  'SG_PROTO_UNKNOWN_TYPE',
  'SG_PROTO_FIELD_INVALID',
  'SG_PROTO_TOO_LARGE',
]);

/** The shared seeded generator plus the value shapes this fuzzer needs. */
class Rng extends SeededRandom {
  /** An integer in min..max, edges often (bugs live there). */
  integer(min: number, max: number): number {
    return this.pick([min, max, min + 1, max - 1, min + this.int(Math.min(max - min, 2 ** 31) + 1)].filter((n) => n >= min && n <= max));
  }
  text(maxChars: number, alphabet = TEXT_ALPHABET): string {
    return Array.from({ length: this.int(maxChars + 1) }, () => this.pick(alphabet)).join('');
  }
}

const TEXT_ALPHABET = ['a', 'Z', '0', '_', '-', ' ', '/', '.', 'é', '€', '🌍', '中', '"', '\\'];
const NAME_ALPHABET = ['A', 'b', 'Z', '_', '0', '9'];
const JSON_NOISE = ['{', '}', '[', ']', '"', ':', ',', '0', '9', '-', 'e', '.', 'n', 't', ' ', '\\', 'u', '\u0000', 'é', '🌍', '\ud800'];
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function randomClientFrame(rng: Rng): ClientFrame {
  const type = rng.pick(CLIENT_FRAME_TYPES);
  const argv = (min: number): string[] => ['x', ...Array.from({ length: rng.int(4) + min - 1 }, () => rng.text(8))];
  const env = (): Record<string, string> => Object.fromEntries(Array.from({ length: rng.int(3) }, () => [`${rng.pick(['A', '_'])}${rng.text(5, NAME_ALPHABET)}`, rng.text(10)]));
  switch (type) {
    case 'open':
      return rng.chance(0.5)
        ? { type, kind: 'pty', ...(rng.chance(0.5) ? { argv: argv(1) } : {}), cols: rng.integer(1, 1000), rows: rng.integer(1, 1000), ...(rng.chance(0.5) ? { env: env() } : {}) }
        : { type, kind: 'exec', argv: argv(1), ...(rng.chance(0.5) ? { cwd: `/${rng.text(6)}` } : {}) };
    case 'resume':
      return { type, sessionId: SESSION_ID, resumeToken: RESUME_TOKEN, outputOffset: rng.integer(0, MAX_SAFE) };
    case 'attach':
      return rng.chance(0.5) ? { type, sessionId: SESSION_ID, outputOffset: rng.integer(0, MAX_SAFE) } : { type, sessionId: SESSION_ID };
    case 'resize':
      return { type, cols: rng.integer(1, 1000), rows: rng.integer(1, 1000) };
    case 'signal':
      return { type, signal: rng.pick(SIGNAL_NAMES) };
    case 'stdin': {
      const data = rng.bytes(1 + rng.int(64));
      return { type, offset: rng.integer(0, MAX_SAFE - data.byteLength), data };
    }
    case 'stdin-close':
    case 'ack':
      return { type, offset: rng.integer(0, MAX_SAFE) };
    default:
      return assertNever(type, 'client frame type');
  }
}

function randomServerFrame(rng: Rng): ServerFrame {
  const type = rng.pick(SERVER_FRAME_TYPES);
  switch (type) {
    case 'hello': {
      const resumed = rng.chance(0.5);
      const offset = (): number => (resumed ? rng.integer(0, MAX_SAFE) : 0);
      return { type, sessionId: SESSION_ID, resumeToken: RESUME_TOKEN, kind: rng.pick(['pty', 'exec'] as const), resumed, outputOffset: offset(), stdinOffset: offset(), stdinClosed: resumed && rng.chance(0.5), limits: { ...DEFAULT_SESSION_LIMITS, outputWindowBytes: rng.integer(1024, 2 ** 28) } };
    }
    case 'attached':
      return { type, sessionId: SESSION_ID, kind: rng.pick(['pty', 'exec'] as const), outputOffset: rng.integer(0, MAX_SAFE), limits: { ...DEFAULT_SESSION_LIMITS, outputWindowBytes: rng.integer(1024, 2 ** 28) } };
    case 'output': {
      const data = rng.bytes(1 + rng.int(64));
      return { type, channel: rng.pick(['stdout', 'stderr'] as const), offset: rng.integer(0, MAX_SAFE - data.byteLength), stdinAck: rng.integer(0, MAX_SAFE), data };
    }
    case 'stdin-ack':
      return { type, offset: rng.integer(0, MAX_SAFE) };
    case 'notice':
      return rng.chance(0.5)
        ? { type, kind: 'quota-warning', resource: rng.pick(RESOURCES), used: rng.integer(0, MAX_SAFE), limit: rng.integer(0, MAX_SAFE), message: rng.text(20) }
        : { type, kind: 'resume-truncated', requestedOffset: rng.integer(0, 1000), resumedOffset: rng.integer(1001, MAX_SAFE), message: rng.text(20) };
    case 'exit': {
      const bySignal = rng.chance(0.5);
      return { type, outputOffset: rng.integer(0, MAX_SAFE), code: bySignal ? null : rng.integer(0, 255), signal: bySignal ? rng.pick(EXIT_SIGNAL_NAMES) : null, reason: bySignal ? rng.pick(EXIT_REASONS.filter((r) => r !== 'exited')) : rng.pick(EXIT_REASONS), usage: { cpuMs: rng.integer(0, MAX_SAFE), peakMemoryBytes: rng.integer(0, MAX_SAFE), wallMs: rng.integer(0, MAX_SAFE) } };
    }
    case 'error':
      return { type, code: `SG_A${rng.text(10, ['A', 'Z', '_', '0'])}`, message: rng.text(30), fatal: rng.chance(0.5) };
    default:
      return assertNever(type, 'server frame type');
  }
}

/** A JSON value of any type, including the edges of every numeric bound. */
function randomJsonValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0:
      return rng.pick([0, -1, 1, 0.5, 999, 1000, 1001, 2 ** 31, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e300]);
    case 1:
      return rng.pick([true, false, null]);
    case 2:
      return rng.pick(['', 'pty', 'exec', 'INT', 'SG_X', '/', 'x'.repeat(300), ...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES]);
    case 3:
      return rng.text(12, JSON_NOISE);
    case 4:
      return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick(['type', 'kind', 'offset', 'x', '__proto__', 'limits']), randomJsonValue(rng, depth + 1)]));
  }
}

/** Mutates a JSON text frame: at the character level, or at one field of the parsed object. */
function mutateText(rng: Rng, text: string): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(6)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + rng.int(4));
    case 1:
      return text.slice(0, at) + rng.pick(JSON_NOISE) + text.slice(at);
    case 2:
      return text.slice(0, at);
    default: {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) return text;
      const object = parsed as Record<string, unknown>;
      const keys = Object.keys(object);
      const key = rng.chance(0.2) ? rng.pick(['extra', 'TYPE', '__proto__', 'type']) : rng.pick(keys);
      if (rng.chance(0.2)) delete object[key];
      else object[key] = key === 'type' && rng.chance(0.5) ? rng.pick([...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES]) : randomJsonValue(rng);
      return JSON.stringify(object);
    }
  }
}

function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  switch (rng.int(5)) {
    case 0: {
      const bit = rng.int(copy.length * 8);
      copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      return copy;
    }
    case 1:
      copy[rng.int(Math.min(copy.length, 9))] = rng.int(256);
      return copy;
    case 2:
      return copy.subarray(0, rng.int(copy.length));
    case 3:
      copy[0] = rng.int(4);
      return copy;
    default: {
      const longer = new Uint8Array(copy.length + 1 + rng.int(8));
      longer.set(copy);
      longer.set(rng.bytes(longer.length - copy.length), copy.length);
      return longer;
    }
  }
}

interface Tally {
  ok: number;
  refused: Map<string, number>;
}

type Direction = 'client' | 'server';

/** Decodes one input and checks the properties; returns a failure description or undefined. */
function check(direction: Direction, message: WireMessage, binary: boolean, tally: Tally): string | undefined {
  const decode = direction === 'client' ? decodeClientFrame : decodeServerFrame;
  let result;
  try {
    result = decode(message, { binary });
  } catch (error: unknown) {
    return `decode threw ${String(error)}`;
  }
  if (!result.ok) {
    const { code, message: text } = result.error;
    if (!PROTOCOL_CODES.has(code) || typeof text !== 'string' || text.length === 0) return `bad error ${JSON.stringify(result.error)}`;
    tally.refused.set(code, (tally.refused.get(code) ?? 0) + 1);
    return undefined;
  }
  tally.ok += 1;
  const frame = result.frame;
  const encode = (f: ClientFrame | ServerFrame) => (direction === 'client' ? encodeClientFrame(f as ClientFrame) : encodeServerFrame(f as ServerFrame));
  const first = encode(frame);
  if (!first.ok) return `decoded frame does not re-encode: ${first.error.code} ${first.error.message}`;
  const again = decode(first.payload);
  if (!again.ok || !isDeepStrictEqual(again.frame, frame)) return 're-encoded frame decodes differently';
  const second = encode(again.frame);
  if (!second.ok || !isDeepStrictEqual(second.payload, first.payload)) return 'encoding is not stable';
  try {
    advance(startConversation(), frame);
  } catch (error: unknown) {
    return `advance threw ${String(error)}`;
  }
  return undefined;
}

function show(message: WireMessage): string {
  return typeof message === 'string' ? JSON.stringify(message.slice(0, 300)) : `bytes [${Array.from(message.subarray(0, 40)).join(',')}]`;
}

function fuzz(t: ExecutionContext, direction: Direction, seed: number, inputs: (rng: Rng) => Iterable<readonly [WireMessage, boolean]>): Tally {
  const rng = new Rng(seed);
  const tally: Tally = { ok: 0, refused: new Map() };
  let index = 0;
  for (const [message, binary] of inputs(rng)) {
    const problem = check(direction, message, binary, tally);
    if (problem !== undefined) {
      t.fail(`seed ${seed}, ${direction} input #${index} (${binary ? 'binary' : 'text'}) ${show(message)}: ${problem}`);
      break;
    }
    index += 1;
  }
  t.log(`seed ${seed}: ${index} ${direction} inputs, ${tally.ok} decoded, refused ${JSON.stringify(Object.fromEntries(tally.refused))}`);
  return tally;
}

function* validAndMutated(rng: Rng, direction: Direction): Iterable<readonly [WireMessage, boolean]> {
  const samples: Array<ClientFrame | ServerFrame> = (direction === 'client' ? CLIENT_SAMPLES : SERVER_SAMPLES).map(([, frame]) => frame);
  for (let i = 0; i < VALID_FRAMES_PER_DIRECTION; i += 1) {
    const frame = i < samples.length ? samples[i] : direction === 'client' ? randomClientFrame(rng) : randomServerFrame(rng);
    if (frame === undefined) continue;
    const encoded = direction === 'client' ? encodeClientFrame(frame as ClientFrame) : encodeServerFrame(frame as ServerFrame);
    if (!encoded.ok) throw new Error(`generator made an invalid ${frame.type} frame: ${encoded.error.message}`);
    const payload = encoded.payload;
    yield [payload, typeof payload !== 'string'];
    for (let m = 0; m < MUTATIONS_PER_FRAME; m += 1) {
      if (typeof payload === 'string') yield [mutateText(rng, payload), false];
      else yield [mutateBytes(rng, payload), true];
    }
  }
}

function* garbage(rng: Rng): Iterable<readonly [WireMessage, boolean]> {
  for (let i = 0; i < GARBAGE_INPUTS; i += 1) {
    switch (i % 4) {
      case 0:
        yield [rng.bytes(rng.int(40)), true];
        break;
      case 1:
        yield [rng.bytes(rng.int(40)), false];
        break;
      case 2:
        yield [rng.text(40, JSON_NOISE), false];
        break;
      default:
        yield [JSON.stringify(randomJsonValue(rng)) ?? '', false];
    }
  }
}

for (const direction of ['client', 'server'] as const) {
  test(`${direction} decode: valid frames round-trip and mutations are refused with a code, never a throw`, (t) => {
    const tally = fuzz(t, direction, SEED, (rng) => validAndMutated(rng, direction));
    t.true(tally.ok >= VALID_FRAMES_PER_DIRECTION, 'every generated frame decoded');
    for (const code of ['SG_PROTO_MALFORMED', 'SG_PROTO_UNKNOWN_TYPE', 'SG_PROTO_FIELD_INVALID']) {
      t.true((tally.refused.get(code) ?? 0) > 0, `mutations reached ${code}`);
    }
  });

  test(`${direction} decode: random bytes and random JSON never throw`, (t) => {
    const tally = fuzz(t, direction, SEED + 1, garbage);
    t.true([...tally.refused.values()].reduce((a, b) => a + b, 0) > GARBAGE_INPUTS / 2);
  });
}
