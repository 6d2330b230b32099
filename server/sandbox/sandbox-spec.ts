/**
 * The sandbox policy: one JSON document, validated by `parseSandboxSpec` (spec-validation.ts),
 * documented field by field in docs/sandbox.md. Every limit carries its unit in its name.
 * The gateway builds one per session (tenant policy ∩ token limits); `sandgate run` builds
 * one from its options.
 */

export interface BindMount {
  /** Absolute host path. */
  readonly src: string;
  /** Absolute path inside the sandbox (defaults to `src`). */
  readonly dst: string;
  /** `false` (default) = read-only, nosuid, nodev. */
  readonly writable: boolean;
  /** Skip silently when `src` does not exist (default false: missing source is an error). */
  readonly optional: boolean;
}

export interface SandboxLimits {
  /** Memory limit of the whole sandbox incl. tmpfs pages (cgroup), bytes. */
  readonly memoryBytes: number;
  /** Max tasks (processes + threads) in the sandbox (cgroup pids). */
  readonly pids: number;
  /** CPU quota in cores (0.5 = half a core; cgroup cpu quota/period). */
  readonly cpuCores: number;
  /** Wall-clock limit, ms; 0 = none. The whole tree is killed when it passes. */
  readonly timeLimitMs: number;
  /** Size of the writable /tmp tmpfs, bytes (counted in memoryBytes). */
  readonly tmpBytes: number;
  /** Size of the writable home tmpfs, bytes (counted in memoryBytes). */
  readonly homeBytes: number;
  /** Size of /dev/shm, bytes (counted in memoryBytes). */
  readonly shmBytes: number;
  /** PTYs the sandbox may open (its own devpts `max=`). */
  readonly ptys: number;
  /** RLIMIT_NOFILE (soft = hard). */
  readonly openFiles: number;
  /** RLIMIT_FSIZE: largest file the sandbox may write, bytes. */
  readonly fileSizeBytes: number;
}

export type NetworkPolicy = 'none';
export type SeccompProfile = 'default';

export interface SandboxSpec {
  /** Command and arguments; argv[0] resolved through env PATH inside. */
  readonly argv: readonly string[];
  /** The command's whole environment (nothing of the caller's leaks in). */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory inside the sandbox, absolute. */
  readonly cwd: string;
  /** UTS hostname inside. */
  readonly hostname: string;
  readonly limits: SandboxLimits;
  readonly network: NetworkPolicy;
  readonly seccomp: SeccompProfile;
  /** Extra binds on top of the minimal root. */
  readonly binds: readonly BindMount[];
}

/** Upper bounds a spec can never exceed, whatever the caller asks (validation refuses beyond). */
export const SPEC_BOUNDS = {
  argvMaxItems: 4096,
  argMaxBytes: 32 * 1024,
  envMaxItems: 1024,
  planMaxBytes: 64 * 1024,
  bindsMaxItems: 64,
  memoryBytes: { min: 16 * 1024 * 1024, max: 64 * 1024 * 1024 * 1024 },
  pids: { min: 8, max: 65536 },
  cpuCores: { min: 0.01, max: 1024 },
  timeLimitMs: { min: 0, max: 7 * 24 * 3600 * 1000 },
  tmpfsBytes: { min: 64 * 1024, max: 64 * 1024 * 1024 * 1024 },
  ptys: { min: 1, max: 1024 },
  openFiles: { min: 16, max: 1 << 20 },
  fileSizeBytes: { min: 4096, max: Number.MAX_SAFE_INTEGER },
  hostnameMaxBytes: 63,
} as const;

export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  memoryBytes: 256 * 1024 * 1024,
  pids: 128,
  cpuCores: 1,
  timeLimitMs: 0,
  tmpBytes: 64 * 1024 * 1024,
  homeBytes: 64 * 1024 * 1024,
  shmBytes: 16 * 1024 * 1024,
  ptys: 16,
  openFiles: 1024,
  fileSizeBytes: 64 * 1024 * 1024,
});

export const DEFAULT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin',
  HOME: '/home/user',
  USER: 'user',
  LOGNAME: 'user',
  SHELL: '/bin/bash',
  TERM: 'xterm-256color',
  LANG: 'C.UTF-8',
});

/** The sandbox user inside (maps to a leased unprivileged host uid). */
export const SANDBOX_USER = Object.freeze({ uid: 1000, gid: 1000, name: 'user', home: '/home/user' });
