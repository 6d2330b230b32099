import { PROTOCOL_LIMITS } from './limits.js';
import type { ProtocolError } from './protocol-error.js';
import { utf8ByteLength } from './utf8.js';

/** Names safe to repeat in a message; anything else is described, never echoed. */
const PRINTABLE_NAME = /^[A-Za-z0-9_-]{1,32}$/;

export interface TextRule {
  readonly maxBytes: number;
  /** Default 0. */
  readonly minBytes?: number;
  /** Refuse NUL: the value becomes a C string (argv, env, paths). */
  readonly noNul?: boolean;
  /** A whole-value pattern, with a phrase naming it for the message. */
  readonly pattern?: { readonly re: RegExp; readonly describe: string };
}

/**
 * Reads the fields of one untrusted JSON object strictly: each read checks presence, type and
 * bounds, and `finish()` refuses every field that was not read. It never throws: the first
 * problem is kept and later reads return placeholders, so a decoder reads like the frame's
 * definition and checks `finish()` once at the end (the placeholders are then discarded).
 */
export class FieldReader {
  readonly #source: Readonly<Record<string, unknown>>;
  readonly #where: string;
  readonly #read = new Set<string>();
  readonly #root: FieldReader | undefined;
  #problem: ProtocolError | undefined;

  constructor(source: Readonly<Record<string, unknown>>, where: string, root?: FieldReader) {
    this.#source = source;
    this.#where = where;
    this.#root = root;
  }

  /** True when the field is present (JSON has no `undefined`; an encoder's `undefined` is absence). */
  has(name: string): boolean {
    this.#read.add(name);
    return Object.prototype.hasOwnProperty.call(this.#source, name) && this.#source[name] !== undefined;
  }

  integer(name: string, min: number, max: number): number {
    const value = this.#get(name);
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value === 0 ? 0 : value;
    return this.#fail(name, `an integer in ${min}..${max}`, value, min);
  }

  /** A byte offset or count: 0..2^53 − 1. */
  offset(name: string): number {
    return this.integer(name, 0, PROTOCOL_LIMITS.maxOffset);
  }

  integerOrNull(name: string, min: number, max: number): number | null {
    return this.#get(name) === null ? null : this.integer(name, min, max);
  }

  boolean(name: string): boolean {
    const value = this.#get(name);
    if (typeof value === 'boolean') return value;
    return this.#fail(name, 'a boolean', value, false);
  }

  oneOf<T extends string>(name: string, values: readonly [T, ...T[]]): T {
    const value = this.#get(name);
    const found = values.find((candidate) => candidate === value);
    return found ?? this.#fail(name, `one of ${values.join(' ')}`, value, values[0]);
  }

  oneOfOrNull<T extends string>(name: string, values: readonly [T, ...T[]]): T | null {
    return this.#get(name) === null ? null : this.oneOf(name, values);
  }

  text(name: string, rule: TextRule): string {
    const value = this.#get(name);
    const problem = textProblem(value, rule);
    return typeof value === 'string' && problem === undefined ? value : this.#fail(name, problem ?? '', value, '');
  }

  /** A JSON array of strings, each checked by `rule`. */
  textList(name: string, maxItems: number, rule: TextRule, minItems = 0): string[] {
    const value = this.#get(name);
    if (!Array.isArray(value) || value.length < minItems || value.length > maxItems) {
      return this.#fail(name, `an array of ${minItems}..${maxItems} strings`, value, []);
    }
    const items: string[] = [];
    for (const [index, item] of value.entries()) {
      const problem = textProblem(item, rule);
      if (typeof item !== 'string' || problem !== undefined) return this.#fail(`${name}[${index}]`, problem ?? '', item, []);
      items.push(item);
    }
    return items;
  }

  /**
   * A JSON object of string values. Built with Object.fromEntries (own data properties only),
   * so a `__proto__` key stays a plain key and can never reach a prototype.
   */
  textRecord(name: string, maxEntries: number, keyRule: TextRule, valueRule: TextRule): Record<string, string> {
    const value = this.#get(name);
    if (!isPlainObject(value)) return this.#fail(name, 'an object of strings', value, {});
    const keys = Object.keys(value);
    if (keys.length > maxEntries) return this.#fail(name, `an object of at most ${maxEntries} entries`, value, {});
    const entries: [string, string][] = [];
    for (const key of keys) {
      const keyProblem = textProblem(key, keyRule);
      if (keyProblem !== undefined) return this.#fail(`${name} key`, keyProblem, key, {});
      const item = value[key];
      const problem = textProblem(item, valueRule);
      if (typeof item !== 'string' || problem !== undefined) return this.#fail(`${name}.${shownName(key)}`, problem ?? '', item, {});
      entries.push([key, item]);
    }
    return Object.fromEntries(entries);
  }

  /** A nested object read by its own reader; its problems and unknown fields count for this one. */
  object<T>(name: string, read: (fields: FieldReader) => T): T {
    const value = this.#get(name);
    const nested = new FieldReader(isPlainObject(value) ? value : {}, `${this.#where}.${name}`, this.#root ?? this);
    if (!isPlainObject(value)) this.#fail(name, 'an object', value, undefined);
    const result = read(nested);
    nested.finish();
    return result;
  }

  /** Records a cross-field problem found by the caller. */
  invalid(message: string): void {
    this.#record({ code: 'SG_PROTO_FIELD_INVALID', message: `${this.#where}: ${message}` });
  }

  /** The first problem, after refusing any field that no read asked for. */
  finish(): ProtocolError | undefined {
    for (const key of Object.keys(this.#source)) {
      if (!this.#read.has(key) && this.#source[key] !== undefined) {
        this.#record({ code: 'SG_PROTO_FIELD_INVALID', message: `${this.#where}: unknown field ${shownName(key)}` });
        break;
      }
    }
    return (this.#root ?? this).#problem;
  }

  #get(name: string): unknown {
    this.#read.add(name);
    return Object.prototype.hasOwnProperty.call(this.#source, name) ? this.#source[name] : undefined;
  }

  #fail<T>(field: string, expected: string, got: unknown, placeholder: T): T {
    const seen = got === undefined ? 'it is missing' : `got ${describe(got)}`;
    this.#record({ code: 'SG_PROTO_FIELD_INVALID', message: `${this.#where}.${field}: expected ${expected}, ${seen}` });
    return placeholder;
  }

  #record(problem: ProtocolError): void {
    const root = this.#root ?? this;
    root.#problem ??= problem;
  }
}

function shownName(key: string): string {
  return PRINTABLE_NAME.test(key) ? `"${key}"` : `<a name of ${key.length} characters>`;
}

export function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textProblem(value: unknown, rule: TextRule): string | undefined {
  const minBytes = rule.minBytes ?? 0;
  const expected = `a string of ${minBytes}..${rule.maxBytes} UTF-8 bytes`;
  if (typeof value !== 'string') return expected;
  // Cheap refusal first: UTF-8 never has fewer bytes than the string has UTF-16 units.
  if (value.length > rule.maxBytes) return expected;
  const bytes = utf8ByteLength(value);
  if (bytes < 0) return `${expected} (well-formed Unicode: no lone surrogate)`;
  if (bytes < minBytes || bytes > rule.maxBytes) return expected;
  if (rule.noNul === true && value.includes('\0')) return `${expected} without NUL`;
  if (rule.pattern !== undefined && !rule.pattern.re.test(value)) return rule.pattern.describe;
  return undefined;
}

/** Numbers and booleans are shown; strings, arrays and objects only by kind and size. */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  return `a value of type ${typeof value}`;
}
