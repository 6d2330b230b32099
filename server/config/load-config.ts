import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readKeyFile } from '../auth/key-store.js';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import { GATEWAY_SCHEMA, parseGatewayConfig, type GatewayConfig } from './gateway-config.js';
import type { TextKind, TextSection } from './config-fields.js';

/**
 * Where the gateway config comes from, lowest precedence first:
 *
 *   GATEWAY_DEFAULTS < config file (--config FILE, JSON) < environment (SANDGATE_*, REDIS_URL) < flags
 *
 * Environment variable and flag names are derived mechanically from the schema's option paths
 * (`uidRange.start` → SANDGATE_UID_RANGE_START and --uid-range-start), so a new option gets
 * both without a line here. The sources are merged as raw JSON (objects member by member,
 * anything else replaced) and validated ONCE by parseGatewayConfig. This module is the only
 * place in sandgate that reads process.env, and only as the default of a parameter.
 */

export interface ConfigSources {
  /** Options of `sandgate serve`, without the command name. Default: none. */
  readonly argv?: readonly string[];
  /** The environment. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths (--config, stateDir) are resolved against. Default: process.cwd(). */
  readonly cwd?: string;
  /** Reads the config file as text. Default: at most 1 MiB from the file system. */
  readonly readFile?: (path: string) => Promise<string>;
}

/** One option that text can set: its path in the document and its derived names. */
export interface ConfigOption {
  /** `uidRange.start` */
  readonly path: string;
  /** `SANDGATE_UID_RANGE_START` */
  readonly env: string;
  /** `--uid-range-start` */
  readonly flag: string;
  readonly kind: TextKind;
  /** What the option (or the section it belongs to) does. */
  readonly doc: string;
  /** Unit and bounds, or where they are documented. */
  readonly unit: string;
}

const ENV_PREFIX = 'SANDGATE_';
/** The config file, when not given by --config. */
export const CONFIG_FILE_ENV = 'SANDGATE_CONFIG';
/** The conventional name (Heroku, Docker images) beside the derived SANDGATE_REDIS_URL. */
export const REDIS_URL_ENV = 'REDIS_URL';
/**
 * SANDGATE_* names that belong to other parts of sandgate and are not gateway settings: the
 * launcher's plan and test switch (docs/internals/launcher-contract.md), the fuzz test's seed.
 */
const NOT_GATEWAY_SETTINGS: ReadonlySet<string> = new Set(['SANDGATE_LAUNCH_PLAN', 'SANDGATE_INSECURE_TEST', 'SANDGATE_FUZZ_SEED']);

export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.freeze(
  Object.entries(GATEWAY_SCHEMA).flatMap(([key, field]) => optionsOf(field.text, [key], field.doc, field.unit)),
);

function optionsOf(text: TextKind | TextSection, path: readonly string[], doc: string, unit: string): ConfigOption[] {
  if (typeof text !== 'string') {
    return Object.entries(text).flatMap(([key, member]) => optionsOf(member, [...path, key], doc, unit));
  }
  const words = path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase());
  return [Object.freeze({
    path: path.join('.'),
    env: `${ENV_PREFIX}${words.join('_').toUpperCase()}`,
    flag: `--${words.join('-').replaceAll('_', '-')}`,
    kind: text,
    doc,
    unit,
  })];
}

/** Loads, merges and validates the gateway config; throws SG_CONFIG_INVALID or SG_USAGE naming the option and its source. */
export async function loadGatewayConfig(sources: ConfigSources = {}): Promise<GatewayConfig> {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const provenance = new Map<string, string>();
  const flags = flagDocument(sources.argv ?? [], provenance);
  const fromEnv = envDocument(env, provenance);
  const configFile = flags.configFile ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fromFile = configFile === undefined ? {} : await fileDocument(resolve(cwd, configFile), sources.readFile, provenance);

  const merged = mergeDocuments(mergeDocuments(fromFile, fromEnv.document), flags.document);
  const stateDir = merged['stateDir'];
  if (typeof stateDir === 'string' && stateDir !== '') merged['stateDir'] = resolve(cwd, stateDir);
  else if (stateDir === undefined || stateDir === '') merged['stateDir'] = defaultStateDir(env, cwd);
  try {
    return parseGatewayConfig(merged);
  } catch (error) {
    throw withSource(error, provenance);
  }
}

/** $XDG_STATE_HOME/sandgate (XDG Base Directory spec), else ~/.local/state/sandgate, else ./.sandgate. */
function defaultStateDir(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const xdg = nonEmpty(env['XDG_STATE_HOME']);
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'sandgate');
  const home = nonEmpty(env['HOME']);
  return home !== undefined && home.startsWith('/') ? join(home, '.local', 'state', 'sandgate') : join(cwd, '.sandgate');
}

type Document = Record<string, unknown>;

function flagDocument(argv: readonly string[], provenance: Map<string, string>): { document: Document; configFile: string | undefined } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' } };
  for (const option of CONFIG_OPTIONS) options[option.flag.slice(2)] = { type: option.kind === 'boolean' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs names the offending flag (ERR_PARSE_ARGS_UNKNOWN_OPTION and friends).
    const problem = error instanceof Error ? error.message : 'The options could not be parsed';
    throw new SandgateError('SG_USAGE', `${problem.replace(/\.$/, '')} (sandgate serve --help lists the options).`, {}, { cause: error });
  }
  const document: Document = {};
  for (const option of CONFIG_OPTIONS) {
    const value = values[option.flag.slice(2)];
    if (value === undefined) continue;
    const json = typeof value === 'boolean' ? value : typeof value === 'string' ? fromText(value, option.kind, option.flag) : undefined;
    setPath(document, option.path, json);
    provenance.set(option.path, option.flag);
  }
  const configFile = values['config'];
  return { document, configFile: typeof configFile === 'string' ? configFile : undefined };
}

function envDocument(env: Readonly<Record<string, string | undefined>>, provenance: Map<string, string>): { document: Document } {
  const byName = new Map(CONFIG_OPTIONS.map((option) => [option.env, option]));
  const document: Document = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || NOT_GATEWAY_SETTINGS.has(name)) continue;
    const option = byName.get(name);
    if (option === undefined) {
      throw new SandgateError('SG_CONFIG_INVALID', `${name} is not a sandgate serve setting (the list, with each variable: docs/operations.md).`, { option: name });
    }
    const text = nonEmpty(value);
    if (text === undefined) continue;
    setPath(document, option.path, fromText(text, option.kind, name));
    provenance.set(option.path, name);
  }
  const redisUrl = nonEmpty(env[REDIS_URL_ENV]);
  if (redisUrl !== undefined) {
    const derived = document['redisUrl'];
    if (derived !== undefined && derived !== redisUrl) {
      throw new SandgateError('SG_CONFIG_INVALID', `${REDIS_URL_ENV} and SANDGATE_REDIS_URL name different Redis servers: set one.`, { option: 'redisUrl' });
    }
    document['redisUrl'] = redisUrl;
    provenance.set('redisUrl', provenance.has('redisUrl') ? `SANDGATE_REDIS_URL and ${REDIS_URL_ENV}` : REDIS_URL_ENV);
  }
  return { document };
}

async function fileDocument(path: string, read: ConfigSources['readFile'], provenance: Map<string, string>): Promise<Document> {
  const text = await (read ?? ((file: string) => readKeyFile(file, '--config')))(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // No cause: V8's JSON errors quote the text around the fault, and the file may hold secrets.
    throw new SandgateError('SG_CONFIG_INVALID', `--config names ${path}, which is not valid JSON.`, { option: '--config' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SandgateError('SG_CONFIG_INVALID', `--config names ${path}, which does not hold a JSON object.`, { option: '--config' });
  }
  const document = mergeDocuments({}, Object.fromEntries(Object.entries(parsed)));
  recordLeaves(document, '', `config file ${path}`, provenance);
  return document;
}

/** Text from the environment or a flag as the JSON value its option's schema validates. */
export function fromText(text: string, kind: TextKind, source: string): unknown {
  const invalid = (expected: string): never => {
    throw new SandgateError('SG_CONFIG_INVALID', `${source} must be ${expected}.`, { option: source });
  };
  switch (kind) {
    case 'string':
      return text;
    case 'int':
    case 'number':
      if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(text.trim())) invalid(kind === 'int' ? 'a whole number' : 'a number');
      return Number(text);
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (word === 'true' || word === '1' || word === 'yes') return true;
      if (word === 'false' || word === '0' || word === 'no') return false;
      return invalid('true or false');
    }
    case 'strings':
      if (text.trimStart().startsWith('[')) return parseJsonText(text, source, 'a JSON array or a comma-separated list');
      return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'json':
      return parseJsonText(text, source, 'JSON');
  }
}

function parseJsonText(text: string, source: string, expected: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // No cause and no quote: the value may be key material (auth.keys).
    throw new SandgateError('SG_CONFIG_INVALID', `${source} is not valid ${expected}.`, { option: source });
  }
}

function isPlainObject(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `over` laid on `under`: objects merge member by member, anything else is replaced. Members
 * are copied with Object.fromEntries (CreateDataProperty), so a JSON key `__proto__` stays a
 * plain key (which validation then refuses) instead of replacing a prototype.
 */
export function mergeDocuments(under: Document, over: Document): Document {
  const members = new Map<string, unknown>(Object.entries(under));
  for (const [key, value] of Object.entries(over)) {
    const below = members.get(key);
    members.set(key, isPlainObject(below) && isPlainObject(value) ? mergeDocuments(below, value) : isPlainObject(value) ? mergeDocuments({}, value) : value);
  }
  return Object.fromEntries(members);
}

function recordLeaves(document: Document, prefix: string, source: string, provenance: Map<string, string>): void {
  for (const [key, value] of Object.entries(document)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(value)) recordLeaves(value, path, source, provenance);
    else provenance.set(path, source);
  }
}

function setPath(document: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop();
  if (last === undefined) return;
  let node = document;
  for (const part of parts) {
    const next = node[part];
    const child: Document = isPlainObject(next) ? next : {};
    node[part] = child;
    node = child;
  }
  node[last] = value;
}

/** A validation error with the source that set the option: "(from SANDGATE_PORT)". */
function withSource(error: unknown, provenance: ReadonlyMap<string, string>): unknown {
  if (!isSandgateError(error, 'SG_CONFIG_INVALID')) return error;
  const options = String(error.details['option'] ?? '').split(', ');
  const sources = new Set<string>();
  for (const option of options) {
    const source = sourceOf(option, provenance);
    if (source !== undefined) sources.add(source);
  }
  if (sources.size === 0) return error;
  return new SandgateError('SG_CONFIG_INVALID', `${error.message.replace(/\.$/, '')} (from ${[...sources].join(', ')}).`, { ...error.details, source: [...sources] }, { cause: error });
}

function sourceOf(option: string, provenance: ReadonlyMap<string, string>): string | undefined {
  // The option, or the nearest enclosing path that a source set: auth.keys from the
  // environment covers auth.keys[0].kid.
  let path = option;
  for (;;) {
    const source = provenance.get(path);
    if (source !== undefined) return source;
    const parent = path.replace(/(?:\.[^.[\]]*|\[[^\]]*\])$/, '');
    if (parent === path || parent === '') return undefined;
    path = parent;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The options of `sandgate serve`, one line each with its variable, for its --help. */
export function gatewayConfigUsage(): string {
  const width = Math.max(...CONFIG_OPTIONS.map((option) => option.flag.length + 4));
  const line = (flag: string, env: string, doc: string): string => `  ${flag.padEnd(width)}  ${env}\n  ${''.padEnd(width)}    ${doc}`;
  return [
    line('--config FILE', CONFIG_FILE_ENV, 'a JSON file with any of the options below (docs/operations.md)'),
    ...CONFIG_OPTIONS.map((option) => line(option.kind === 'boolean' ? option.flag : `${option.flag} ${option.kind.toUpperCase()}`, option.env, option.unit === '' ? option.doc : `${option.doc} (${option.unit})`)),
  ].join('\n');
}
