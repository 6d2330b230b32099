import { PROTECTED_SYSTEM_PATHS, SHM_DIR, TMP_DIR } from './sandbox-layout.js';
import {
  DEFAULT_ENV,
  SANDBOX_USER,
  SPEC_BOUNDS,
  type BindMount,
  type NetworkPolicy,
  type SandboxLimits,
  type SandboxSpec,
  type SeccompProfile,
} from './sandbox-spec.js';
import { parseLimits } from './spec-limits.js';
import { childPath, forbidden, invalid, readArray, readFields, readString, utf8Bytes } from './spec-reader.js';

/**
 * The edge for sandbox specs: `parseSandboxSpec` turns an untrusted JSON-like value into a
 * deeply frozen `SandboxSpec` or throws SG_SPEC_INVALID (malformed) / SG_SPEC_FORBIDDEN
 * (well-formed, but never allowed). Inside sandgate a `SandboxSpec` is trusted. The format is
 * documented field by field in docs/sandbox.md; keep both in step.
 *
 * Path checks are lexical: a bind source that is a symlink is resolved by mount(2) later.
 * Callers that take sources from people (`sandgate run`) resolve them with realpath first.
 */

/** PATH_MAX (limits.h) counts the terminating NUL. */
export const PATH_MAX_BYTES = 4095;

export const DEFAULT_HOSTNAME = 'sandbox';
export const DEFAULT_CWD = SANDBOX_USER.home;
export const DEFAULT_NETWORK: NetworkPolicy = 'none';
export const DEFAULT_SECCOMP: SeccompProfile = 'default';

const NETWORK_POLICIES: readonly NetworkPolicy[] = ['none'];
const SECCOMP_PROFILES: readonly SeccompProfile[] = ['default'];

// `Record<keyof T, true>`: the compiler keeps these field lists equal to the interfaces.
const SPEC_FIELDS: Record<keyof SandboxSpec, true> = {
  argv: true, env: true, cwd: true, hostname: true, limits: true, network: true, seccomp: true, binds: true,
};
const BIND_FIELDS: Record<keyof BindMount, true> = { src: true, dst: true, writable: true, optional: true };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 1123 §2.1 label: letters, digits, inner hyphens, 1–63 bytes.
const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Environment names a spec may not set. Not the dynamic loader's (LD_PRELOAD, LD_AUDIT, …):
 * the sandbox runs code of its user's choosing as that user already, no_new_privs disables
 * setuid, and sandgate-init is static, so they grant nothing. Refused are the names of
 * sandgate's own control and configuration (SANDGATE_LAUNCH_PLAN, SANDGATE_INSECURE_TEST,
 * SANDGATE_* settings, REDIS_URL): a spec carrying them is a caller copying the gateway's
 * environment, which would leak its secrets into the sandbox (SECURITY.md D).
 */
export function isForbiddenEnvName(name: string): boolean {
  return name.startsWith('SANDGATE_') || name === 'REDIS_URL';
}

/**
 * Host sources never bound, whatever the mode: the root, the kernel's interfaces, the
 * directories of host daemons' unix sockets (a read-only bind does not stop connect(2) to a
 * socket, so docker.sock or the system D-Bus would be reachable), and credential stores.
 * File permissions still apply to the leased uid elsewhere (e.g. a bind of /etc to /host-etc).
 */
const FORBIDDEN_SOURCES: readonly string[] = [
  '/proc', '/sys', '/dev', '/run', '/var/run',
  '/root', '/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh',
];
/** Destinations the launcher sets up itself: the kernel's views. */
const FORBIDDEN_DESTINATIONS: readonly string[] = ['/proc', '/dev', '/sys'];

export function isUnder(path: string, base: string): boolean {
  return path === base || base === '/' || path.startsWith(`${base}/`);
}

export function parseSandboxSpec(input: unknown): SandboxSpec {
  const fields = readFields(input, 'spec', Object.keys(SPEC_FIELDS));
  const argv = parseArgv(fields.get('argv'));
  const env = parseEnv(fields.get('env'));
  const cwd = fields.has('cwd') ? parseAbsolutePath(fields.get('cwd'), 'cwd') : DEFAULT_CWD;
  const hostname = fields.has('hostname') ? parseHostname(fields.get('hostname')) : DEFAULT_HOSTNAME;
  const limits: SandboxLimits = parseLimits(fields.get('limits'));
  const network = fields.has('network') ? parseChoice(fields.get('network'), 'network', NETWORK_POLICIES) : DEFAULT_NETWORK;
  const seccomp = fields.has('seccomp') ? parseChoice(fields.get('seccomp'), 'seccomp', SECCOMP_PROFILES) : DEFAULT_SECCOMP;
  const binds = parseBinds(fields.get('binds'));
  return Object.freeze({ argv, env, cwd, hostname, limits, network, seccomp, binds });
}

/**
 * An absolute, normalised path: starts with `/`, no empty, `.` or `..` segment, no trailing
 * slash except for `/` itself, no control characters (NUL ends a C string; the others make
 * logs and error messages lie), at most PATH_MAX_BYTES bytes.
 */
export function parseAbsolutePath(value: unknown, field: string): string {
  const path = readString(value, field);
  if (CONTROL_CHARACTER.test(path)) throw invalid(field, 'must not contain NUL or other control characters');
  if (utf8Bytes(path) > PATH_MAX_BYTES) throw invalid(field, `must be at most ${PATH_MAX_BYTES} bytes long, got ${utf8Bytes(path)} bytes`);
  if (!path.startsWith('/')) throw invalid(field, `must be an absolute path (starting with /), got ${JSON.stringify(path)}`);
  if (path === '/') return path;
  if (path.endsWith('/')) throw invalid(field, `must not end with / (got ${JSON.stringify(path)})`);
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') throw invalid(field, `must not contain // (got ${JSON.stringify(path)})`);
    if (segment === '.' || segment === '..') throw invalid(field, `must be normalised, without . or .. segments (got ${JSON.stringify(path)})`);
  }
  return path;
}

function parseArgv(value: unknown): readonly string[] {
  if (value === undefined) throw invalid('argv', 'is required: the command to run, e.g. ["/bin/bash", "-l"]');
  const items = readArray(value, 'argv', SPEC_BOUNDS.argvMaxItems, 'arguments');
  if (items.length === 0) throw invalid('argv', 'must hold at least the command (argv[0])');
  const argv = items.map((item, index) => {
    const field = `argv[${index}]`;
    const arg = readString(item, field);
    if (arg.includes('\0')) throw invalid(field, 'must not contain NUL');
    const bytes = utf8Bytes(arg);
    if (bytes > SPEC_BOUNDS.argMaxBytes) {
      throw invalid(field, `must be at most ${SPEC_BOUNDS.argMaxBytes} bytes (SPEC_BOUNDS.argMaxBytes), got ${bytes} bytes`);
    }
    return arg;
  });
  // Only argv[0] must be non-empty: `grep '' file` and `sh -c ''` pass empty arguments on purpose.
  if (argv[0] === '') throw invalid('argv[0]', 'must not be empty: it names the command');
  return Object.freeze(argv);
}

/**
 * The spec's `env` is laid over DEFAULT_ENV: a name given replaces the default, `null`
 * removes it. The result is the command's whole environment.
 */
function parseEnv(value: unknown): Readonly<Record<string, string>> {
  const merged = new Map<string, string>(Object.entries(DEFAULT_ENV));
  if (value !== undefined) {
    const given = readFields(value, 'env', undefined, SPEC_BOUNDS.envMaxItems, 'variables');
    for (const [name, raw] of given) {
      const field = childPath('env', name);
      if (!ENV_NAME.test(name)) throw invalid(field, 'is not a valid variable name (expected [A-Za-z_][A-Za-z0-9_]*)');
      if (isForbiddenEnvName(name)) throw forbidden(field, 'is reserved for sandgate itself and never passed into a sandbox');
      if (raw === null) {
        merged.delete(name);
        continue;
      }
      const text = readString(raw, field, 'a string, or null to remove a default');
      if (text.includes('\0')) throw invalid(field, 'must not contain NUL');
      const bytes = utf8Bytes(`${name}=${text}`);
      if (bytes > SPEC_BOUNDS.argMaxBytes) {
        throw invalid(field, `must be at most ${SPEC_BOUNDS.argMaxBytes} bytes as NAME=value (SPEC_BOUNDS.argMaxBytes), got ${bytes} bytes`);
      }
      merged.set(name, text);
    }
  }
  if (merged.size > SPEC_BOUNDS.envMaxItems) {
    throw invalid('env', `must hold at most ${SPEC_BOUNDS.envMaxItems} variables with the defaults (SPEC_BOUNDS.envMaxItems), got ${merged.size}`);
  }
  // fromEntries defines own properties, so a variable named __proto__ stays a variable.
  return Object.freeze(Object.fromEntries(merged));
}

function parseHostname(value: unknown): string {
  const hostname = readString(value, 'hostname');
  if (!HOSTNAME_LABEL.test(hostname)) {
    throw invalid(
      'hostname',
      `must be one RFC 1123 label: 1–${SPEC_BOUNDS.hostnameMaxBytes} letters, digits or inner hyphens, got ${JSON.stringify(hostname.slice(0, 80))}`,
    );
  }
  return hostname;
}

function parseChoice<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  const text = readString(value, field);
  const choice = choices.find((candidate) => candidate === text);
  if (choice === undefined) throw invalid(field, `must be one of: ${choices.join(', ')} (got ${JSON.stringify(text.slice(0, 80))})`);
  return choice;
}

function parseBinds(value: unknown): readonly BindMount[] {
  if (value === undefined) return Object.freeze([]);
  const items = readArray(value, 'binds', SPEC_BOUNDS.bindsMaxItems, 'binds');
  const binds = items.map((item, index) => parseBind(item, `binds[${index}]`));
  binds.forEach((bind, index) => {
    binds.slice(0, index).forEach((earlier, earlierIndex) => {
      if (isUnder(earlier.dst, bind.dst)) {
        const what = earlier.dst === bind.dst ? 'repeats' : 'would hide';
        throw invalid(
          `binds[${index}].dst`,
          `${JSON.stringify(bind.dst)} ${what} binds[${earlierIndex}].dst ${JSON.stringify(earlier.dst)}: list outer binds before inner ones`,
        );
      }
    });
  });
  return Object.freeze(binds);
}

function parseBind(value: unknown, field: string): BindMount {
  const fields = readFields(value, field, Object.keys(BIND_FIELDS));
  if (!fields.has('src')) throw invalid(`${field}.src`, 'is required: the host path to bind');
  const src = parseAbsolutePath(fields.get('src'), `${field}.src`);
  const dst = fields.has('dst') ? parseAbsolutePath(fields.get('dst'), `${field}.dst`) : src;
  const writable = readFlag(fields.get('writable'), `${field}.writable`);
  const optional = readFlag(fields.get('optional'), `${field}.optional`);
  checkBindSource(src, writable, `${field}.src`);
  checkBindDestination(dst, writable, `${field}.dst`);
  return Object.freeze({ src, dst, writable, optional });
}

function readFlag(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(field, `must be true or false, got ${typeof value}`);
  return value;
}

function checkBindSource(src: string, writable: boolean, field: string): void {
  if (src === '/') throw forbidden(field, 'must not be /: the host root is never bound into a sandbox');
  const refused = FORBIDDEN_SOURCES.find((base) => isUnder(src, base));
  if (refused !== undefined) throw forbidden(field, `${JSON.stringify(src)} is under ${refused}, which is never bound into a sandbox`);
  const system = PROTECTED_SYSTEM_PATHS.find((base) => isUnder(src, base));
  if (writable && system !== undefined) {
    throw forbidden(field, `${JSON.stringify(src)} is under the host system path ${system}: it may only be bound read-only`);
  }
}

function checkBindDestination(dst: string, writable: boolean, field: string): void {
  if (dst === '/') throw forbidden(field, 'must not be /: the sandbox root is sandgate\'s own');
  const kernel = FORBIDDEN_DESTINATIONS.find((base) => isUnder(dst, base));
  if (kernel !== undefined) throw forbidden(field, `${JSON.stringify(dst)} is under ${kernel}, which the launcher sets up itself`);
  const system = PROTECTED_SYSTEM_PATHS.find((base) => isUnder(dst, base));
  if (system === dst) throw forbidden(field, `must not replace the system path ${system}`);
  if (writable && system !== undefined) throw forbidden(field, `${JSON.stringify(dst)} is under the system path ${system}, which is read-only inside`);
  for (const own of [TMP_DIR, SANDBOX_USER.home, SHM_DIR]) {
    if (isUnder(own, dst)) {
      throw invalid(field, `${JSON.stringify(dst)} would cover the sandbox's own tmpfs ${own}: bind below it instead (e.g. ${own}/project)`);
    }
  }
}
