import { SandgateError } from '../errors/sandgate-error.js';

/**
 * The building blocks of the gateway config schema (gateway-config.ts): one descriptor per
 * option that knows how to validate a raw JSON value, how text from the environment or the
 * command line becomes that JSON value, and what to say about the option in docs and --help.
 * Every failure is SG_CONFIG_INVALID with the option's path in `details.option`.
 */

/**
 * How a text value (an environment variable, a flag) becomes a JSON value before validation:
 * numbers must look like numbers, booleans are true/false/1/0, `strings` is a comma-separated
 * list (or a JSON array), `json` is a JSON document (lists of objects, maps).
 */
export type TextKind = 'int' | 'number' | 'string' | 'boolean' | 'strings' | 'json';

/** The text shape of a section: its members, each a TextKind or a nested section. */
export interface TextSection {
  readonly [member: string]: TextKind | TextSection;
}

export interface FieldSchema<T> {
  /** How env/flag text maps onto this option (a TextSection for an object of options). */
  readonly text: TextKind | TextSection;
  /** Unit and bounds for docs and --help (`ms, 50–300000`), or '' when there is none. */
  readonly unit: string;
  /** One line: what the option does. */
  readonly doc: string;
  /**
   * Validates `raw` (undefined when no source set it) into the option's value. `root` is the
   * whole raw document, for the few options whose meaning depends on another one.
   */
  parse(raw: unknown, option: string, fallback: T, root: Json): T;
}

export type Json = Readonly<Record<string, unknown>>;

export function fail(option: string, problem: string, details: Record<string, unknown> = {}): never {
  throw new SandgateError('SG_CONFIG_INVALID', `${option} ${problem}.`, { option, ...details });
}

export function optionPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** A plain JSON object with only `allowed` keys; an unknown key is named with its full path. */
export function objectAt(raw: unknown, option: string, allowed: readonly string[]): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(option || 'the configuration', 'must be a JSON object');
  const unknown = Object.keys(raw).filter((key) => !allowed.includes(key));
  const [first] = unknown;
  if (first !== undefined) {
    const shown = first.length > 64 || !/^[\x21-\x7e]+$/.test(first) ? `a key of ${first.length} chars` : first;
    fail(optionPath(option, shown), `is not a known option (${option === '' ? 'top level' : option} has: ${allowed.join(', ')})`);
  }
  return Object.fromEntries(Object.entries(raw));
}

export function intField(doc: string, unit: string, min: number, max: number): FieldSchema<number> {
  return {
    text: 'int',
    unit: `${unit}, ${min}–${max}`,
    doc,
    parse(raw, option, fallback) {
      if (raw === undefined) return fallback;
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min || raw > max) {
        fail(option, `must be a whole number from ${min} to ${max} (${unit})`, { min, max, unit });
      }
      return raw;
    },
  };
}

export function numberField(doc: string, unit: string, min: number, max: number): FieldSchema<number> {
  return {
    text: 'number',
    unit: `${unit}, ${min}–${max}`,
    doc,
    parse(raw, option, fallback) {
      if (raw === undefined) return fallback;
      if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < min || raw > max) {
        fail(option, `must be a number from ${min} to ${max} (${unit})`, { min, max, unit });
      }
      return raw;
    },
  };
}

export function booleanField(doc: string): FieldSchema<boolean> {
  return {
    text: 'boolean',
    unit: '',
    doc,
    parse(raw, option, fallback) {
      if (raw === undefined) return fallback;
      if (typeof raw !== 'boolean') fail(option, 'must be true or false');
      return raw;
    },
  };
}

/** A string checked by `check`, which returns the problem sentence or undefined. */
export function stringField(doc: string, unit: string, check: (value: string) => string | undefined): FieldSchema<string> {
  return {
    text: 'string',
    unit,
    doc,
    parse(raw, option, fallback) {
      if (raw === undefined) return fallback;
      if (typeof raw !== 'string') fail(option, 'must be a string');
      const problem = check(raw);
      if (problem !== undefined) fail(option, problem);
      return raw;
    },
  };
}

/** Like stringField, for an option whose absence means something (e.g. no Redis). */
export function optionalStringField(doc: string, unit: string, check: (value: string) => string | undefined): FieldSchema<string | undefined> {
  const inner = stringField(doc, unit, check);
  return {
    text: 'string',
    unit,
    doc,
    parse(raw, option, fallback, root) {
      if (raw === undefined) return fallback;
      return inner.parse(raw, option, '', root);
    },
  };
}

export type SectionSchema<T> = { readonly [K in keyof T]-?: FieldSchema<T[K]> };

/**
 * An object of options, each validated by its own schema, missing ones from `defaults`.
 * Unknown members are refused with their path.
 */
export function parseSection<T extends object>(schema: SectionSchema<T>, raw: unknown, option: string, defaults: T, root: Json): T {
  const section = objectAt(raw ?? {}, option, Object.keys(schema));
  const entries = schemaKeys(schema).map((key) => {
    const member = schema[key];
    return [key, member.parse(section[String(key)], optionPath(option, String(key)), defaults[key], root)] as const;
  });
  // Object.fromEntries loses the key-to-type pairing that the map above kept: every key of
  // the schema, and so of T, is present with the type its own field schema returns.
  return Object.freeze(Object.fromEntries(entries)) as T;
}

export function sectionField<T extends object>(doc: string, schema: SectionSchema<T>): FieldSchema<T> {
  return {
    text: textSectionOf(schema),
    unit: '',
    doc,
    parse: (raw, option, fallback, root) => parseSection(schema, raw, option, fallback, root),
  };
}

export function textSectionOf<T extends object>(schema: SectionSchema<T>): TextSection {
  return Object.freeze(Object.fromEntries(schemaKeys(schema).map((key) => [String(key), schema[key].text])));
}

/** The keys of a schema, typed (Object.keys returns string[] by design: objects may have more). */
export function schemaKeys<T extends object>(schema: SectionSchema<T>): (keyof T)[] {
  return Object.keys(schema).filter((key): key is Extract<keyof T, string> => Object.prototype.hasOwnProperty.call(schema, key));
}

/** Freezes `value` and everything reachable from it (objects and arrays; config holds nothing else). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  for (const member of Object.values(value)) deepFreeze(member);
  Object.freeze(value);
  return value;
}
