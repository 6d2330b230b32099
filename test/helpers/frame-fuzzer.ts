import { encodeClientFrame, type ClientFrame } from '../../client-sdk/src/protocol/index.js';
import { bytes, intBetween, pick } from './seeded-random.js';

/**
 * Client frames for fuzzing the gateway: random bytes, random text, and valid frames mutated
 * at the JSON level (a field removed, added, retyped, pushed out of range) or at the byte
 * level (bits flipped, cut short, a wrong channel or offset). Every frame is small enough for
 * the gateway's frame limits unless `oversize` is asked for; the verdict on each one is the
 * shared codec's (the test's oracle), not this file's.
 */

export interface FuzzFrame {
  readonly data: string | Uint8Array;
  readonly binary: boolean;
  /** What kind of mutation made it, for failure messages. */
  readonly label: string;
}

type Json = Record<string, unknown>;

const VALID_TEMPLATES: readonly ClientFrame[] = [
  { type: 'open', kind: 'pty', cols: 80, rows: 24 },
  { type: 'open', kind: 'exec', argv: ['true'] },
  { type: 'open', kind: 'pty', argv: ['cat'], cols: 100, rows: 30, env: { TERM: 'dumb' }, cwd: '/tmp' },
  { type: 'resume', sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', resumeToken: 'B'.repeat(43), outputOffset: 0 },
  { type: 'resize', cols: 120, rows: 40 },
  { type: 'signal', signal: 'WINCH' },
  { type: 'stdin-close', offset: 0 },
  { type: 'ack', offset: 0 },
  { type: 'stdin', offset: 0, data: new Uint8Array([0x61]) },
];

/** Values that break a field's type or range. */
const BAD_VALUES: readonly unknown[] = [
  null, true, -1, 1.5, 2 ** 53, 1e300, '', 'x'.repeat(300), [], {}, [1, 2], { nested: { deeper: [null] } }, '\u0000', '\ud800',
  'pty\u0000', 70000, -0, '1', Number.MAX_SAFE_INTEGER,
];

const TYPE_NAMES: readonly string[] = ['open', 'resume', 'resize', 'signal', 'stdin', 'stdin-close', 'ack', 'hello', 'output', 'exit', 'OPEN', '', '__proto__', 'constructor', 'error'];

function jsonOf(frame: ClientFrame): Json {
  const encoded = encodeClientFrame(frame);
  if (!encoded.ok || typeof encoded.payload !== 'string') throw new Error(`template ${frame.type} does not encode as JSON`);
  const parsed: unknown = JSON.parse(encoded.payload);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('template is not an object');
  return { ...parsed };
}

function mutateJson(random: () => number): FuzzFrame {
  const template = pick(random, VALID_TEMPLATES.filter((f) => f.type !== 'stdin'));
  const json = jsonOf(template);
  const keys = Object.keys(json);
  const mutation = intBetween(random, 0, 7);
  let label = `${template.type}:`;
  switch (mutation) {
    case 0: {
      const key = pick(random, keys);
      delete json[key];
      label += `without ${key}`;
      break;
    }
    case 1:
      json[pick(random, ['extra', 'x', '__proto__', 'constructor', 'Type', 'prototype'])] = pick(random, BAD_VALUES);
      label += 'extra field';
      break;
    case 2: {
      const key = pick(random, keys);
      json[key] = pick(random, BAD_VALUES);
      label += `bad ${key}`;
      break;
    }
    case 3:
      json['type'] = pick(random, TYPE_NAMES);
      label += `type ${String(json['type'])}`;
      break;
    case 4:
      json['env'] = Object.fromEntries(Array.from({ length: intBetween(random, 1, 5) }, (_, i) => [pick(random, ['A', '1BAD', 'PATH', 'LD_PRELOAD', `V${i}`, '']), pick(random, BAD_VALUES)]));
      label += 'env';
      break;
    case 5:
      json['argv'] = Array.from({ length: intBetween(random, 0, 4) }, () => pick(random, ['', 'sh', '\u0000', 'x'.repeat(40), ...BAD_VALUES.slice(0, 4)]));
      label += 'argv';
      break;
    case 6:
      return { data: JSON.stringify([json]), binary: false, label: `${label}array` };
    default: {
      // Deep nesting in a field: the reader must refuse it without recursing into it.
      const depth = intBetween(random, 10, 2000);
      return { data: `{"type":"${template.type}","cols":${'['.repeat(depth)}${']'.repeat(depth)}}`, binary: false, label: `${label}nested ${depth}` };
    }
  }
  return { data: JSON.stringify(json), binary: false, label };
}

function mutateBytes(random: () => number): FuzzFrame {
  const template = pick(random, VALID_TEMPLATES);
  const encoded = encodeClientFrame(template);
  if (!encoded.ok) throw new Error(`template ${template.type} does not encode`);
  const binary = typeof encoded.payload !== 'string';
  const original = typeof encoded.payload === 'string' ? Buffer.from(encoded.payload, 'utf8') : Buffer.from(encoded.payload);
  const out = Buffer.from(original);
  const flips = intBetween(random, 1, 4);
  for (let i = 0; i < flips && out.length > 0; i += 1) {
    const at = intBetween(random, 0, out.length - 1);
    out[at] = (out[at] ?? 0) ^ (1 << intBetween(random, 0, 7));
  }
  const cut = random() < 0.3 ? intBetween(random, 0, out.length) : out.length;
  const data = out.subarray(0, cut);
  // A mutated text frame must stay valid UTF-8 (ws itself closes 1007 on invalid UTF-8; a separate test covers that).
  if (!binary) return { data: Buffer.from(data.toString('utf8'), 'utf8').toString('utf8'), binary: false, label: `${template.type}:bytes` };
  return { data, binary: true, label: `${template.type}:bytes` };
}

function dataFrame(random: () => number): FuzzFrame {
  const payload = bytes(random, intBetween(random, 0, 64));
  const header = Buffer.alloc(9);
  header[0] = pick(random, [0, 1, 2, 2, 3, 255]);
  const offset = pick(random, [0n, 0n, 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n]);
  header.writeBigUInt64BE(offset, 1);
  return { data: Buffer.concat([header, payload]), binary: true, label: `data ch${header[0]} at ${offset}` };
}

function randomText(random: () => number): FuzzFrame {
  const length = intBetween(random, 0, 200);
  let text = '';
  for (let i = 0; i < length; i += 1) {
    const c = random() < 0.8 ? intBetween(random, 0x20, 0x7e) : intBetween(random, 0, 0xd7ff);
    text += String.fromCharCode(c);
  }
  if (random() < 0.3) text = `{"type":${text}`;
  return { data: text, binary: false, label: 'random text' };
}

/** One fuzz frame; `oversize` adds frames beyond maxControlFrameBytes / maxDataFrameBytes. */
export function fuzzFrame(random: () => number, options: { readonly oversizeBytes?: number } = {}): FuzzFrame {
  const roll = random();
  if (options.oversizeBytes !== undefined && roll < 0.02) {
    const binary = random() < 0.5;
    const size = options.oversizeBytes;
    return binary
      ? { data: Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(size)]), binary, label: `oversized data ${size}` }
      : { data: `{"type":"ack","offset":0,"pad":"${'x'.repeat(size)}"}`, binary, label: `oversized control ${size}` };
  }
  if (roll < 0.15) return { data: bytes(random, intBetween(random, 0, 300)), binary: true, label: 'random bytes' };
  if (roll < 0.3) return randomText(random);
  if (roll < 0.65) return mutateJson(random);
  if (roll < 0.85) return mutateBytes(random);
  return dataFrame(random);
}
