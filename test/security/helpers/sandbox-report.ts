import fs from 'node:fs';

/** The fields of the CLI's `--json-report` that the security suite judges by. */
export interface SandboxReport {
  /** `exit` | `signal` | `time_limit` | `oom` | `launcher_error` | … (kept open: the suite
   * asserts the value it expects, and shows an unexpected one in full). */
  readonly reason: string;
  /** The command's exit code when it exited by itself, else null. */
  readonly exitCode: number | null;
  /** What the CLI exits with: the exit code, 128 + signal number, or an error's code. */
  readonly status: number | undefined;
  /** Signal name (`SIGKILL`) when the command died of one. */
  readonly signal: string | null;
  readonly cpuMs: number | undefined;
  readonly peakMemoryBytes: number | undefined;
  readonly wallMs: number | undefined;
  readonly hostUid: number | undefined;
  /** The whole document, for failure messages. */
  readonly raw: Readonly<Record<string, unknown>>;
}

function optionalNumber(document: Record<string, unknown>, name: string): number | undefined {
  const value = document[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`report field ${name} is ${JSON.stringify(value)}, expected a number`);
  return value;
}

/**
 * Reads the report the CLI wrote at `file`, or undefined when there is none: no file, or a
 * symlink there. The suite runs as root and a sandbox with a writable bind over the report's
 * directory can plant a symlink at the path (filesystem-mounts.test.ts), so the file is opened
 * with O_NOFOLLOW (open(2): ELOOP for a symlink); the CLI never writes through one either.
 */
export function readSandboxReport(file: string): SandboxReport | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ELOOP')) return undefined;
    throw error;
  }
  let text: string;
  try {
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  const document: unknown = JSON.parse(text);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error(`report ${file} is not a JSON object`);
  }
  const fields: Record<string, unknown> = Object.fromEntries(Object.entries(document));
  const { reason, signal } = fields;
  if (typeof reason !== 'string') throw new Error(`report ${file} has no reason: ${JSON.stringify(document)}`);
  const exitCode = optionalNumber(fields, 'exitCode');
  return {
    reason,
    exitCode: exitCode ?? null,
    status: optionalNumber(fields, 'status'),
    signal: typeof signal === 'string' ? signal : null,
    cpuMs: optionalNumber(fields, 'cpuMs'),
    peakMemoryBytes: optionalNumber(fields, 'peakMemoryBytes'),
    wallMs: optionalNumber(fields, 'wallMs'),
    hostUid: optionalNumber(fields, 'hostUid'),
    raw: fields,
  };
}
