import { SandgateError } from '../errors/sandgate-error.js';
import { DEFAULT_LIMITS, SPEC_BOUNDS, type SandboxLimits } from './sandbox-spec.js';
import { describe, invalid, readFields } from './spec-reader.js';

/**
 * The `limits` object of a spec: each limit within its SPEC_BOUNDS, missing ones from
 * DEFAULT_LIMITS, and the three tmpfs sizes kept below the memory limit.
 */

interface LimitRule {
  /** Unit named in messages, as in docs/sandbox.md. */
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

function rule(unit: string, bounds: { readonly min: number; readonly max: number }, integer = true): LimitRule {
  return { unit, min: bounds.min, max: bounds.max, integer };
}

// A mapped type over SandboxLimits: a limit added there does not compile until it has a rule.
const LIMIT_RULES: { readonly [K in keyof SandboxLimits]: LimitRule } = {
  memoryBytes: rule('bytes', SPEC_BOUNDS.memoryBytes),
  pids: rule('tasks', SPEC_BOUNDS.pids),
  cpuCores: rule('cores', SPEC_BOUNDS.cpuCores, false),
  timeLimitMs: rule('ms', SPEC_BOUNDS.timeLimitMs),
  tmpBytes: rule('bytes', SPEC_BOUNDS.tmpfsBytes),
  homeBytes: rule('bytes', SPEC_BOUNDS.tmpfsBytes),
  shmBytes: rule('bytes', SPEC_BOUNDS.tmpfsBytes),
  ptys: rule('ptys', SPEC_BOUNDS.ptys),
  openFiles: rule('open files', SPEC_BOUNDS.openFiles),
  fileSizeBytes: rule('bytes', SPEC_BOUNDS.fileSizeBytes),
};

/**
 * Memory the tmpfs sizes must leave free, bytes. A cgroup memory limit counts tmpfs pages
 * (FIELD-NOTES; Documentation/admin-guide/cgroup-v1/memory.rst "shmem"), so full tmpfs
 * mounts with no room left would OOM-kill the shell that filled them. 4 MiB holds an idle
 * shell (about 1.2 MB charged) with margin, and fits the smallest memory limit (16 MiB).
 */
export const TMPFS_HEADROOM_BYTES = 4 * 1024 * 1024;

/**
 * A tmpfs size the spec leaves unset defaults to its DEFAULT_LIMITS value, but to at most
 * this fraction of memoryBytes (page-aligned), so that `--memory 32M` alone is a valid spec:
 * three tmpfs at a quarter each always leave the headroom.
 */
export const TMPFS_DEFAULT_MEMORY_DIVISOR = 4;

const PAGE_BYTES = 4096;

function parseLimit(value: unknown, name: keyof SandboxLimits): number {
  const { unit, min, max, integer } = LIMIT_RULES[name];
  const field = `limits.${name}`;
  if (typeof value !== 'number') throw invalid(field, `must be a number of ${unit}, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw invalid(field, `must be a finite number of ${unit}, got ${value}`);
  if (value < min || value > max) {
    throw invalid(field, `must be between ${min} and ${max} ${unit}, got ${value}`, { min, max, unit });
  }
  if (integer && !Number.isInteger(value)) throw invalid(field, `must be a whole number of ${unit}, got ${value}`);
  return value;
}

function defaultTmpfsBytes(fallback: number, memoryBytes: number): number {
  const share = Math.floor(memoryBytes / TMPFS_DEFAULT_MEMORY_DIVISOR / PAGE_BYTES) * PAGE_BYTES;
  return Math.max(SPEC_BOUNDS.tmpfsBytes.min, Math.min(fallback, share));
}

export function parseLimits(value: unknown): SandboxLimits {
  const given = value === undefined ? new Map<string, unknown>() : readFields(value, 'limits', Object.keys(LIMIT_RULES));
  const read = (name: keyof SandboxLimits, fallback: number): number =>
    given.has(name) ? parseLimit(given.get(name), name) : fallback;
  const memoryBytes = read('memoryBytes', DEFAULT_LIMITS.memoryBytes);
  const limits: SandboxLimits = {
    memoryBytes,
    pids: read('pids', DEFAULT_LIMITS.pids),
    cpuCores: read('cpuCores', DEFAULT_LIMITS.cpuCores),
    timeLimitMs: read('timeLimitMs', DEFAULT_LIMITS.timeLimitMs),
    tmpBytes: read('tmpBytes', defaultTmpfsBytes(DEFAULT_LIMITS.tmpBytes, memoryBytes)),
    homeBytes: read('homeBytes', defaultTmpfsBytes(DEFAULT_LIMITS.homeBytes, memoryBytes)),
    shmBytes: read('shmBytes', defaultTmpfsBytes(DEFAULT_LIMITS.shmBytes, memoryBytes)),
    ptys: read('ptys', DEFAULT_LIMITS.ptys),
    openFiles: read('openFiles', DEFAULT_LIMITS.openFiles),
    fileSizeBytes: read('fileSizeBytes', DEFAULT_LIMITS.fileSizeBytes),
  };
  checkTmpfsFitsMemory(limits);
  return Object.freeze(limits);
}

function checkTmpfsFitsMemory(limits: SandboxLimits): void {
  const tmpfsBytes = limits.tmpBytes + limits.homeBytes + limits.shmBytes;
  if (tmpfsBytes + TMPFS_HEADROOM_BYTES <= limits.memoryBytes) return;
  throw new SandgateError(
    'SG_SPEC_INVALID',
    `limits.tmpBytes + limits.homeBytes + limits.shmBytes (${tmpfsBytes} bytes) must stay at least ` +
      `${TMPFS_HEADROOM_BYTES} bytes below limits.memoryBytes (${limits.memoryBytes} bytes): tmpfs pages count against the memory limit`,
    { field: 'limits', tmpfsBytes, memoryBytes: limits.memoryBytes, headroomBytes: TMPFS_HEADROOM_BYTES },
  );
}
