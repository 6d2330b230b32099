/**
 * The one registry of sandgate error codes: every failure that reaches a user, with how it
 * travels — HTTP status (refusals before the WebSocket upgrade), WebSocket close code
 * (4000–4999, after the upgrade) and process exit code (CLI and launcher).
 *
 * Lives in the client SDK because the SDK decodes ERROR frames and close codes too; the
 * server's error classes (server/errors) are built from this table. docs/errors.md lists
 * every code, kept in sync by test/contract/error-registry.test.ts.
 */

export interface ErrorCodeInfo {
  /** HTTP status when refused before the upgrade. */
  readonly httpStatus: number;
  /** WebSocket close code after the upgrade (4000–4999), or 1008/1009/1011 where standard. */
  readonly wsCloseCode: number;
  /** Exit code of the CLI / launcher when this ends a process. */
  readonly exitCode: number;
  /** One sentence: what happened. */
  readonly summary: string;
}

function code(httpStatus: number, wsCloseCode: number, exitCode: number, summary: string): ErrorCodeInfo {
  return { httpStatus, wsCloseCode, exitCode, summary };
}

export const ERROR_CODES = {
  // --- configuration and set-up (CLI exit codes 64–79, sysexits-like) ---
  SG_CONFIG_INVALID: code(500, 4500, 78, 'A configuration value or command-line option is invalid.'),
  SG_USAGE: code(400, 4400, 64, 'The command line could not be understood.'),
  SG_HOST_UNSUPPORTED: code(503, 4503, 69, 'This host cannot run sandboxes (not root, or a kernel feature is missing).'),
  SG_NATIVE_LOAD: code(500, 4500, 70, 'The native addon or launcher could not be found or loaded.'),

  // --- sandbox spec (validated before anything is created) ---
  SG_SPEC_INVALID: code(400, 4400, 65, 'The sandbox spec is invalid (unknown field, wrong type, relative path, out-of-range limit).'),
  SG_SPEC_FORBIDDEN: code(403, 4403, 65, 'The sandbox spec asks for something the policy never allows (e.g. binding / or /proc writable).'),

  // --- sandbox runtime ---
  SG_CGROUP: code(500, 4500, 71, 'Creating, limiting or removing the sandbox cgroup failed.'),
  SG_SANDBOX_SPAWN: code(500, 4500, 71, 'The sandbox launcher could not be started.'),
  SG_LAUNCH_PLAN: code(500, 4500, 200, 'The launcher refused its launch plan.'),
  SG_LAUNCH_CLONE: code(500, 4500, 201, 'The launcher could not clone the sandbox namespaces.'),
  SG_LAUNCH_USERNS: code(500, 4500, 202, 'The launcher could not set up the user namespace (uid lease, uid/gid map).'),
  SG_LAUNCH_MOUNTS: code(500, 4500, 203, 'The launcher could not build the sandbox root (tmpfs, binds, pivot_root).'),
  SG_LAUNCH_PROC_DEV: code(500, 4500, 204, 'The launcher could not set up /proc or /dev.'),
  SG_LAUNCH_NET: code(500, 4500, 205, 'The launcher could not set the hostname or bring loopback up.'),
  SG_LAUNCH_RLIMITS: code(500, 4500, 206, 'The launcher could not apply the rlimits.'),
  SG_LAUNCH_CGROUP: code(500, 4500, 207, 'The launcher could not join the sandbox cgroup or make its cgroup namespace.'),
  SG_LAUNCH_CAPS: code(500, 4500, 208, 'The launcher could not drop capabilities or set no_new_privs.'),
  SG_LAUNCH_FDS_ENV: code(500, 4500, 209, 'The launcher could not close inherited fds, set the environment or the working directory.'),
  SG_LAUNCH_SECCOMP: code(500, 4500, 210, 'The launcher could not load the seccomp filter.'),
  SG_LAUNCH_EXEC: code(500, 4500, 211, 'The launcher could not exec the sandbox init.'),
  SG_LAUNCH_SUPERVISOR: code(500, 4500, 212, 'The launcher supervisor failed (pipes, signals, wait) or its caller went away.'),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
