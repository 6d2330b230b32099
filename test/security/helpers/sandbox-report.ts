import fs from 'node:fs';

/** The fields of the CLI's `--json-report` that the security suite judges by. */
export interface SandboxReport {
  /** `exit` | `signal` | `time_limit` | `oom` | `launcher_error` | … (kept open: the suite
   * asserts the value it expects, and shows an unexpected one in full). */
  readonly reason: string;
  readonly exitCode: number | null;
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

export function readSandboxReport(file: string): SandboxReport {
  const document: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
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
    signal: typeof signal === 'string' ? signal : null,
    cpuMs: optionalNumber(fields, 'cpuMs'),
    peakMemoryBytes: optionalNumber(fields, 'peakMemoryBytes'),
    wallMs: optionalNumber(fields, 'wallMs'),
    hostUid: optionalNumber(fields, 'hostUid'),
    raw: fields,
  };
}
