import { assertNever } from '../errors/assert-never.js';
import { SandgateError } from '../errors/sandgate-error.js';
import {
  HOST_ETC_PATHS,
  PROC_MASKED_PATHS,
  PROC_READONLY_PATHS,
  ROOT_TMPFS_BYTES,
  SHM_DIR,
  SYSTEM_PATHS,
  TMP_DIR,
  TMPFS_MODES,
  etcFiles,
  sandboxRlimits,
} from './sandbox-layout.js';
import { SANDBOX_USER, SPEC_BOUNDS, type BindMount, type NetworkPolicy, type SandboxSpec, type SeccompProfile } from './sandbox-spec.js';
import { parseAbsolutePath } from './spec-validation.js';

/**
 * The only producer of the launch plan (docs/internals/launcher-contract.md): a spec plus
 * what the caller leased for it, encoded as records the launcher reads from
 * SANDGATE_LAUNCH_PLAN. `launchPlanRecords` decides (pure), `encodeLaunchPlan` serialises.
 */

export interface LaunchContext {
  /** Host uids the launcher may lease for the sandbox user, one per concurrent sandbox. */
  readonly uidRange: { readonly start: number; readonly count: number };
  /** Cgroup directories created by the caller: one per v1 hierarchy, or the one v2 directory. */
  readonly cgroupDirs: readonly string[];
  /** Where the launcher writes its JSON report (absolute host path); none when absent. */
  readonly reportPath?: string;
  /**
   * The compiled filter of each seccomp profile: struct sock_filter[] (8 bytes each), as
   * nativeAddon().seccompFilter(profile, 'bpf') returns it. Compiled once per process, not
   * per sandbox (libseccomp needs about 2 ms for it); the launcher loads these bytes.
   */
  readonly seccompPrograms: Readonly<Record<SeccompProfile, Uint8Array>>;
  /**
   * PTY sandboxes only: the nonce of the end marker the launcher writes after the sandbox's
   * last output byte (32 lowercase hex digits, 128 random bits per spawn: pty-end-marker.ts).
   */
  readonly ptyEndNonce?: string;
}

/** Plan format version (the `version` record). */
export const LAUNCH_PLAN_VERSION = 1;

/** uid_t is 32 bits and (uid_t)-1 means "no change" to setresuid(2): leases stay below it. */
const UID_LIMIT = 2 ** 32 - 1;

/** sizeof(struct sock_filter), and BPF_MAXINSNS (linux/bpf_common.h): the kernel's bounds. */
const SOCK_FILTER_BYTES = 8;
const BPF_MAX_INSTRUCTIONS = 4096;

/** Every record key of the contract, in the order the encoder writes them. */
export type PlanKey =
  | 'version'
  | 'hostname'
  | 'uid_range'
  | 'user'
  | 'root_tmpfs'
  | 'system_path'
  | 'etc_file'
  | 'tmpfs'
  | 'bind'
  | 'devpts_max'
  | 'proc_mask'
  | 'proc_readonly'
  | 'rlimit'
  | 'cgroup'
  | 'network'
  | 'seccomp'
  | 'seccomp_bpf'
  | 'time_limit_ms'
  | 'cwd'
  | 'env'
  | 'argv'
  | 'pty_end_marker'
  | 'report_path';

export interface PlanRecord {
  readonly key: PlanKey;
  readonly fields: readonly string[];
}

/** A non-negative safe integer in decimal, the only number form the launcher parses. */
function decimal(value: number, field: string): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SandgateError('SG_SPEC_INVALID', `${field} must be a whole number ≥ 0 in the launch plan, got ${value}`, { field });
  }
  return String(value);
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function bindMode(bind: BindMount): string {
  return `${bind.writable ? 'rw' : 'ro'}${bind.optional ? '?' : ''}`;
}

function networkField(network: NetworkPolicy): string {
  switch (network) {
    case 'none':
      return 'none';
    default:
      return assertNever(network, 'network policy');
  }
}

function seccompField(profile: SeccompProfile): string {
  switch (profile) {
    case 'default':
      return 'default';
    default:
      return assertNever(profile, 'seccomp profile');
  }
}

function checkContext(context: LaunchContext): void {
  const { start, count } = context.uidRange;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 1 || count < 1 || start + count > UID_LIMIT) {
    throw new SandgateError(
      'SG_SPEC_INVALID',
      `context.uidRange must be whole numbers with start ≥ 1, count ≥ 1 and start + count ≤ ${UID_LIMIT}, got start ${start}, count ${count}`,
      { field: 'context.uidRange' },
    );
  }
  context.cgroupDirs.forEach((dir, index) => parseAbsolutePath(dir, `context.cgroupDirs[${index}]`));
  for (const [profile, program] of Object.entries(context.seccompPrograms)) {
    const instructions = program.byteLength / SOCK_FILTER_BYTES;
    if (!Number.isInteger(instructions) || instructions < 1 || instructions > BPF_MAX_INSTRUCTIONS) {
      throw new SandgateError(
        'SG_SPEC_INVALID',
        `context.seccompPrograms.${profile} must be 1 to ${BPF_MAX_INSTRUCTIONS} instructions of ${SOCK_FILTER_BYTES} bytes, got ${program.byteLength} bytes`,
        { field: `context.seccompPrograms.${profile}` },
      );
    }
  }
  if (context.reportPath !== undefined) parseAbsolutePath(context.reportPath, 'context.reportPath');
  if (context.ptyEndNonce !== undefined && !/^[0-9a-f]{32}$/.test(context.ptyEndNonce)) {
    throw new SandgateError('SG_SPEC_INVALID', 'context.ptyEndNonce must be 32 lowercase hex digits (128 bits)', { field: 'context.ptyEndNonce' });
  }
}

/** The plan as records, in the contract's order. Deterministic: env is sorted by name. */
export function launchPlanRecords(spec: SandboxSpec, context: LaunchContext): readonly PlanRecord[] {
  checkContext(context);
  const { limits } = spec;
  const records: PlanRecord[] = [];
  const add = (key: PlanKey, ...fields: string[]): void => {
    records.push({ key, fields });
  };

  add('version', String(LAUNCH_PLAN_VERSION));
  add('hostname', spec.hostname);
  add('uid_range', decimal(context.uidRange.start, 'context.uidRange.start'), decimal(context.uidRange.count, 'context.uidRange.count'));
  add('user', String(SANDBOX_USER.uid), String(SANDBOX_USER.gid), SANDBOX_USER.name, SANDBOX_USER.home);
  add('root_tmpfs', String(ROOT_TMPFS_BYTES));
  for (const path of SYSTEM_PATHS) add('system_path', path);
  for (const file of etcFiles(spec.hostname)) add('etc_file', file.name, octal(file.mode), file.content);
  // The tmpfs come before the binds: a spec may bind below /home/user or /tmp, and the
  // launcher mounts in plan order.
  add('tmpfs', TMP_DIR, decimal(limits.tmpBytes, 'limits.tmpBytes'), octal(TMPFS_MODES.tmp), 'root');
  add('tmpfs', SANDBOX_USER.home, decimal(limits.homeBytes, 'limits.homeBytes'), octal(TMPFS_MODES.home), 'user');
  add('tmpfs', SHM_DIR, decimal(limits.shmBytes, 'limits.shmBytes'), octal(TMPFS_MODES.shm), 'root');
  for (const path of HOST_ETC_PATHS) add('bind', 'ro?', path, path);
  for (const bind of spec.binds) add('bind', bindMode(bind), bind.src, bind.dst);
  add('devpts_max', decimal(limits.ptys, 'limits.ptys'));
  for (const path of PROC_MASKED_PATHS) add('proc_mask', path);
  for (const path of PROC_READONLY_PATHS) add('proc_readonly', path);
  for (const { name, value } of sandboxRlimits(limits)) {
    const text = decimal(value, `rlimit ${name}`);
    add('rlimit', name, text, text);
  }
  for (const dir of context.cgroupDirs) add('cgroup', dir);
  add('network', networkField(spec.network));
  add('seccomp', seccompField(spec.seccomp));
  // Hex: the environment cannot carry the program's NUL bytes.
  add('seccomp_bpf', Buffer.from(context.seccompPrograms[spec.seccomp]).toString('hex'));
  add('time_limit_ms', decimal(limits.timeLimitMs, 'limits.timeLimitMs'));
  add('cwd', spec.cwd);
  // Sorted by UTF-16 code units, which for [A-Za-z0-9_] names is byte order: the same spec
  // always gives the same plan, whatever order its JSON listed the variables in.
  const names = Object.keys(spec.env).sort();
  for (const name of names) add('env', `${name}=${spec.env[name] ?? ''}`);
  for (const arg of spec.argv) add('argv', arg);
  if (context.ptyEndNonce !== undefined) add('pty_end_marker', context.ptyEndNonce);
  if (context.reportPath !== undefined) add('report_path', context.reportPath);
  return records;
}

/**
 * One record: `<key> <len>...\n` then each field and `\n`. Lengths are UTF-8 bytes, which is
 * what the launcher counts; `string.length` (UTF-16 units) would desynchronise it on the
 * first non-ASCII argument.
 */
function encodeRecord(record: PlanRecord): string {
  const lengths = record.fields.map((field) => {
    // The environment cannot carry NUL, and an unpaired surrogate has no UTF-8 form.
    if (field.includes('\0') || /\p{Cs}/u.test(field)) {
      throw new SandgateError('SG_SPEC_INVALID', `launch plan record ${record.key} has a field with NUL or invalid Unicode`, {
        field: record.key,
      });
    }
    return Buffer.byteLength(field, 'utf8');
  });
  const header = [record.key, ...lengths.map(String)].join(' ');
  return `${header}\n${record.fields.map((field) => `${field}\n`).join('')}`;
}

/**
 * The plan for SANDGATE_LAUNCH_PLAN. Throws SG_SPEC_INVALID when it would exceed
 * SPEC_BOUNDS.planMaxBytes (the launcher refuses larger plans with exit 200), checked as the
 * records are encoded so an oversize spec stops early.
 */
export function encodeLaunchPlan(spec: SandboxSpec, context: LaunchContext): string {
  const parts: string[] = [];
  let planBytes = 0;
  for (const record of launchPlanRecords(spec, context)) {
    const part = encodeRecord(record);
    planBytes += Buffer.byteLength(part, 'utf8');
    if (planBytes > SPEC_BOUNDS.planMaxBytes) {
      throw new SandgateError(
        'SG_SPEC_INVALID',
        `the launch plan exceeds ${SPEC_BOUNDS.planMaxBytes} bytes (SPEC_BOUNDS.planMaxBytes) at its ${record.key} records: ` +
          'shorten argv, env or binds',
        { field: record.key, planMaxBytes: SPEC_BOUNDS.planMaxBytes },
      );
    }
    parts.push(part);
  }
  return parts.join('');
}
