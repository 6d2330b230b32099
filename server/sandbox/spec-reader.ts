import { SandgateError } from '../errors/sandgate-error.js';

/**
 * Reading untrusted JSON-like values for spec-validation.ts: plain objects with known fields,
 * bounded arrays, well-formed strings, and the two spec errors. Each failure names the field
 * path (`limits.memoryBytes`, `binds[2].dst`) in the message and in `details.field`.
 */

/** Longest key shown in an error message: a hostile key must not flood logs. */
const SHOWN_KEY_MAX_CHARS = 64;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// With the `u` flag, \p{Cs} matches only unpaired surrogates: text that has no UTF-8 form and
// would silently become U+FFFD on its way to the launcher.
const LONE_SURROGATE = /\p{Cs}/u;

export function invalid(field: string, message: string, details: Record<string, unknown> = {}): SandgateError {
  return new SandgateError('SG_SPEC_INVALID', `${field} ${message}`, { field, ...details });
}

export function forbidden(field: string, message: string): SandgateError {
  return new SandgateError('SG_SPEC_FORBIDDEN', `${field} ${message}`, { field });
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The path of `key` below `parent`: `limits.pids`, or `env["a b"]` for keys that are not names. */
export function childPath(parent: string, key: string): string {
  const base = parent === 'spec' ? '' : parent;
  if (IDENTIFIER.test(key) && key.length <= SHOWN_KEY_MAX_CHARS) return base === '' ? key : `${base}.${key}`;
  const shown = key.length > SHOWN_KEY_MAX_CHARS ? `${key.slice(0, SHOWN_KEY_MAX_CHARS)}…` : key;
  return `${base}[${JSON.stringify(shown)}]`;
}

/** What a value is, for "got …" in messages: never the value itself, which may be huge. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * The own data properties of a plain object (prototype Object.prototype or null), refusing
 * fields not in `known` (when given) and accessors. A Map keeps a key named `__proto__` data.
 */
export function readFields(
  value: unknown,
  field: string,
  known: readonly string[] | undefined,
  maxItems = Number.POSITIVE_INFINITY,
  itemsName = 'fields',
): Map<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(field, `must be an object, got ${describe(value)}`);
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw invalid(field, 'must be a plain JSON object');
  const keys = Object.keys(value);
  if (keys.length > maxItems) throw invalid(field, `must hold at most ${maxItems} ${itemsName}, got ${keys.length}`);
  const fields = new Map<string, unknown>();
  for (const key of keys) {
    const path = childPath(field, key);
    if (known !== undefined && !known.includes(key)) {
      throw invalid(path, `is not a known field (known: ${known.join(', ')})`);
    }
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !('value' in descriptor)) throw invalid(path, 'must be a data property, not an accessor');
    fields.set(key, descriptor.value);
  }
  return fields;
}

/** The items of an array of at most `maxItems`, checked before any item is read. */
export function readArray(value: unknown, field: string, maxItems: number, itemsName: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(field, `must be an array, got ${describe(value)}`);
  const items: unknown[] = value;
  if (items.length > maxItems) throw invalid(field, `must hold at most ${maxItems} ${itemsName}, got ${items.length}`);
  return Array.from(items);
}

export function readString(value: unknown, field: string, expected = 'a string'): string {
  if (typeof value !== 'string') throw invalid(field, `must be ${expected}, got ${describe(value)}`);
  if (LONE_SURROGATE.test(value)) throw invalid(field, 'must be valid Unicode (it holds an unpaired surrogate)');
  return value;
}
