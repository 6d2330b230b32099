import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SandgateError } from '../errors/sandgate-error.js';
import type { SeccompProfile } from './sandbox-spec.js';

/**
 * The native addon `sandgate_native`: its types, written once from the contract
 * (docs/internals/launcher-contract.md, "Addon"), and its loader, the only `require` of it.
 * Arguments are checked here and again on the native side (both throw TypeError), so a bad
 * call fails with a sentence instead of reaching the kernel.
 */

/** The highest uid the kernel accepts; (uid_t)-1 means "unchanged" to it. */
export const MAX_UID = 4294967294;

/** Where the addon is looked for, relative to the package root, in this order. */
export const NATIVE_ADDON_CANDIDATES: readonly string[] = [
  'build/Release/sandgate_native.node',
  'build/Debug/sandgate_native.node',
];

export const NAMESPACE_KINDS = ['user', 'pid', 'mount', 'net', 'uts', 'ipc', 'cgroup'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

/** Names of SECCOMP_RET_* actions, as reported by SECCOMP_GET_ACTION_AVAIL. */
export type SeccompActionName =
  | 'kill_process' | 'kill_thread' | 'trap' | 'errno' | 'user_notif' | 'trace' | 'log' | 'allow';

export type SeccompFilterFormat = 'bpf' | 'pfc';

export interface ProbeOptions {
  /** First host uid the launcher may lease for sandbox users. */
  readonly uidRangeStart: number;
  /** Number of uids in the range (at least 1; the range ends at MAX_UID at most). */
  readonly uidRangeCount: number;
}

export interface NamespaceSupport {
  /** The namespace could be created (inside a new user namespace, as the launcher does). */
  readonly ok: boolean;
  /** Why not, with strerror; absent when ok. */
  readonly error?: string;
}

export interface SeccompSupport {
  /** Filter mode works and the default profile loads and refuses what it must. */
  readonly ok: boolean;
  readonly actions: readonly SeccompActionName[];
  /** seccomp_version(), e.g. "2.5.4". */
  readonly libseccomp: string;
  readonly error?: string;
}

export interface CgroupHierarchy {
  readonly controllers: readonly string[];
  readonly mountPoint: string;
  /** This process's cgroup relative to mountPoint: its directory is mountPoint + ownPath. */
  readonly ownPath: string;
}

export interface CgroupSupport {
  /** 2 when a cgroup2 mount holds memory, pids and cpu; else 1. */
  readonly version: 1 | 2;
  /** Controllers sandgate can use here, sorted. */
  readonly controllers: readonly string[];
  /** One per hierarchy: one for v2, one per mounted controller (or co-mounted set) for v1. */
  readonly hierarchies: readonly CgroupHierarchy[];
}

export interface UidRangeReport {
  readonly start: number;
  readonly count: number;
  /** The lowest 16 uids of the range named in /etc/passwd or handed out by /etc/subuid. */
  readonly conflicts: readonly number[];
}

export interface HostProbe {
  /** uname -r. */
  readonly kernel: string;
  readonly namespaces: Readonly<Record<NamespaceKind, NamespaceSupport>>;
  readonly seccomp: SeccompSupport;
  readonly cgroup: CgroupSupport;
  readonly uidRange: UidRangeReport;
  /** euid 0 with CAP_SYS_ADMIN in the effective set. */
  readonly root: boolean;
}

export interface NativeAddon {
  /** What this host offers the launcher. Forks two short-lived children; takes a few ms. */
  probe(options: ProbeOptions): HostProbe;
  /** The filter of `profile`: 'bpf' is struct sock_filter[] (8 bytes each) as the launcher loads it. */
  seccompFilter(profile: SeccompProfile, format: 'bpf'): Buffer;
  seccompFilter(profile: SeccompProfile, format: 'pfc'): string;
  /** Sets FD_CLOEXEC on `fd` (node-pty's PTY masters lack it); throws when fcntl fails. */
  closeOnExec(fd: number): void;
}

/** The module as the native side exports it, before our checks. */
interface RawAddon {
  probe(options: ProbeOptions): HostProbe;
  seccompFilter(profile: string, format: string): Buffer | string;
  closeOnExec(fd: number): void;
}

function isRawAddon(value: unknown): value is RawAddon {
  return (
    typeof value === 'object' && value !== null &&
    'probe' in value && typeof value.probe === 'function' &&
    'seccompFilter' in value && typeof value.seccompFilter === 'function' &&
    'closeOnExec' in value && typeof value.closeOnExec === 'function'
  );
}

/** The nearest directory at or above `from` that holds a package.json. */
export function findPackageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  const searched: string[] = [];
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    searched.push(dir);
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) break;
  }
  throw new SandgateError(
    'SG_NATIVE_LOAD',
    `cannot find sandgate's package root (a directory with package.json) above ${from}`,
    { searched },
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

function checkUid(name: keyof ProbeOptions, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`probe: options.${name} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

/** Checks the arguments of probe() as the native side does; returns a clean copy. */
export function checkProbeOptions(options: unknown): ProbeOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('probe: expected one argument { uidRangeStart, uidRangeCount }');
  }
  const start = checkUid('uidRangeStart', Reflect.get(options, 'uidRangeStart'), 0, MAX_UID);
  const count = checkUid('uidRangeCount', Reflect.get(options, 'uidRangeCount'), 1, MAX_UID + 1 - start);
  return { uidRangeStart: start, uidRangeCount: count };
}

function checkFilterArguments(profile: unknown, format: unknown): void {
  if (profile !== 'default') {
    throw new TypeError(`seccompFilter: profile must be 'default', got ${describe(profile)}`);
  }
  if (format !== 'bpf' && format !== 'pfc') {
    throw new TypeError(`seccompFilter: format must be 'bpf' or 'pfc', got ${describe(format)}`);
  }
}

function wrap(raw: RawAddon): NativeAddon {
  function seccompFilter(profile: SeccompProfile, format: 'bpf'): Buffer;
  function seccompFilter(profile: SeccompProfile, format: 'pfc'): string;
  function seccompFilter(profile: SeccompProfile, format: SeccompFilterFormat): Buffer | string {
    checkFilterArguments(profile, format);
    return raw.seccompFilter(profile, format);
  }
  return Object.freeze({
    probe: (options: ProbeOptions): HostProbe => raw.probe(checkProbeOptions(options)),
    seccompFilter,
    closeOnExec: (fd: number): void => {
      if (!Number.isSafeInteger(fd) || fd < 0) throw new TypeError(`closeOnExec: fd must be a non-negative integer, got ${describe(fd)}`);
      raw.closeOnExec(fd);
    },
  });
}

/**
 * Loads the addon from `packageRoot` (default: found from this file). Fails with SG_NATIVE_LOAD
 * naming every path tried and why each failed (missing, wrong Node ABI, missing libseccomp...).
 */
export function loadNativeAddon(packageRoot: string = findPackageRoot()): NativeAddon {
  const require = createRequire(import.meta.url);
  const tried: { path: string; error: string }[] = [];
  let lastError: unknown;
  for (const candidate of NATIVE_ADDON_CANDIDATES) {
    const file = path.resolve(packageRoot, candidate);
    try {
      const loaded: unknown = require(file);
      if (isRawAddon(loaded)) return wrap(loaded);
      tried.push({ path: file, error: 'loaded, but it does not export probe(), seccompFilter() and closeOnExec()' });
    } catch (error: unknown) {
      lastError = error;
      tried.push({ path: file, error: error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error) });
    }
  }
  const list = tried.map((t) => `\n  ${t.path}: ${t.error}`).join('');
  throw new SandgateError(
    'SG_NATIVE_LOAD',
    `cannot load the native addon sandgate_native; tried:${list}\nbuild it with \`npm run build:native\``,
    { tried },
    { cause: lastError },
  );
}

let loaded: NativeAddon | undefined;

/** The addon of this package, loaded on first use. */
export function nativeAddon(): NativeAddon {
  loaded ??= loadNativeAddon();
  return loaded;
}
