import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { SandgateError } from '../errors/sandgate-error.js';
import { errnoCode } from '../sandbox/cgroup/cgroup-fs.js';
import { parseByteSize, parseCount, parseCpuCores, parseDurationMs } from '../sandbox/spec-units.js';

/**
 * `sandgate run` options → the JSON sandbox spec (docs/sandbox.md, "`sandgate run` options")
 * plus the options that are not part of the spec. Syntax errors are SG_USAGE (exit 64);
 * values that do not parse are SG_SPEC_INVALID naming the option (exit 65). The spec itself
 * is validated afterwards by parseSandboxSpec, like any other.
 */

export const RUN_USAGE = `Usage: sandgate run [options] -- CMD [ARG...]

Runs CMD in a fresh sandbox on this host (no gateway): stdio passed through, exit status
propagated (its code, or 128 + signal).

  --memory SIZE         memory limit incl. tmpfs, e.g. 256M (default 256M)
  --pids N              max tasks (default 128)
  --cpu CORES           CPU quota in cores, e.g. 0.5 (default 1)
  --time-limit DUR      wall-clock limit, e.g. 30s, 1m30s (default 0 = none)
  --net none            network: only loopback (the only policy now)
  --ro-bind SRC[:DST]   bind a host path read-only (repeatable; DST defaults to SRC)
  --bind SRC[:DST]      bind a host path writable (repeatable)
  --env K=V             set a variable over the defaults (repeatable)
  --cwd DIR             working directory inside (default /home/user)
  --tty                 give CMD a terminal (raw mode, resize forwarded)
  --json-report FILE    write {exitCode, signal, reason, cpuMs, peakMemoryBytes, wallMs, hostUid, …}
  -h, --help            this text
`;

export interface RunOptions {
  /** The JSON spec for parseSandboxSpec (untrusted shape until then). */
  readonly specInput: Record<string, unknown>;
  readonly tty: boolean;
  /** Absolute path, when --json-report was given. */
  readonly jsonReport: string | undefined;
}

export type ParsedRunArgs = { readonly help: true } | ({ readonly help: false } & RunOptions);

function usage(message: string): SandgateError {
  return new SandgateError('SG_USAGE', message);
}

function parseFlags(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: {
        memory: { type: 'string' },
        pids: { type: 'string' },
        cpu: { type: 'string' },
        'time-limit': { type: 'string' },
        net: { type: 'string' },
        'ro-bind': { type: 'string', multiple: true },
        bind: { type: 'string', multiple: true },
        env: { type: 'string', multiple: true },
        cwd: { type: 'string' },
        tty: { type: 'boolean' },
        'json-report': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs names the offending flag in its message (ERR_PARSE_ARGS_*).
    throw new SandgateError('SG_USAGE', error instanceof Error ? error.message : 'the options could not be parsed', {}, { cause: error });
  }
}

/**
 * `--ro-bind SRC[:DST]`, split at the first `:`. SRC must be absolute, like every spec path,
 * and is resolved through symlinks (realpath): the spec's checks are lexical, so the real
 * source is what they must see. DST defaults to SRC as written.
 */
async function parseBind(text: string, option: string, writable: boolean): Promise<Record<string, unknown>> {
  const colon = text.indexOf(':');
  const given = colon < 0 ? text : text.slice(0, colon);
  const dst = colon < 0 ? given : text.slice(colon + 1);
  if (given === '' || dst === '') throw usage(`${option} needs SRC[:DST] with non-empty paths, got ${JSON.stringify(text)}`);
  if (!path.isAbsolute(given)) {
    throw new SandgateError('SG_SPEC_INVALID', `${option} source must be an absolute path, got ${JSON.stringify(given)}`, { option, field: option });
  }
  let src: string;
  try {
    src = await fs.realpath(given);
  } catch (error) {
    throw new SandgateError('SG_SPEC_INVALID', `${option} source ${JSON.stringify(given)} cannot be resolved (${errnoCode(error) ?? 'error'})`, {
      option,
      field: option,
    });
  }
  return { src, dst, writable };
}

function parseEnv(items: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw usage(`--env needs K=V, got ${JSON.stringify(item.slice(0, 80))} (nothing of this environment is passed in)`);
    Object.defineProperty(env, item.slice(0, equals), { value: item.slice(equals + 1), enumerable: true, writable: true, configurable: true });
  }
  return env;
}

export async function parseRunArgs(argv: readonly string[]): Promise<ParsedRunArgs> {
  const separator = argv.indexOf('--');
  const optionArgs = separator < 0 ? [...argv] : argv.slice(0, separator);
  const { values, tokens } = parseFlags(optionArgs);
  if (values.help === true) return { help: true };
  if (separator < 0) throw usage('put the command after `--`: sandgate run [options] -- CMD [ARG...]');
  const command = argv.slice(separator + 1);
  if (command.length === 0) throw usage('no command after `--`');

  const limits: Record<string, number> = {};
  if (values.memory !== undefined) limits['memoryBytes'] = parseByteSize(values.memory, '--memory');
  if (values.pids !== undefined) limits['pids'] = parseCount(values.pids, '--pids');
  if (values.cpu !== undefined) limits['cpuCores'] = parseCpuCores(values.cpu, '--cpu');
  if (values['time-limit'] !== undefined) limits['timeLimitMs'] = parseDurationMs(values['time-limit'], '--time-limit');

  // Binds keep their command-line order, --ro-bind and --bind interleaved: outer ones first.
  const binds: Record<string, unknown>[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === 'ro-bind') binds.push(await parseBind(token.value, '--ro-bind', false));
    if (token.name === 'bind') binds.push(await parseBind(token.value, '--bind', true));
  }

  const specInput: Record<string, unknown> = { argv: command, limits };
  if (values.env !== undefined) specInput['env'] = parseEnv(values.env);
  if (values.cwd !== undefined) specInput['cwd'] = values.cwd;
  if (values.net !== undefined) specInput['network'] = values.net;
  if (binds.length > 0) specInput['binds'] = binds;
  const jsonReport = values['json-report'] === undefined ? undefined : path.resolve(values['json-report']);
  return { help: false, specInput, tty: values.tty === true, jsonReport };
}
