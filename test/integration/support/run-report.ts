import fs from 'node:fs';

/** The CLI's `--json-report` document, checked field by field (it is the CLI's output contract). */
export interface RunReport {
  readonly exitCode: number | null;
  /** Signal name (`SIGTERM`) when the command died of a signal, else null. */
  readonly signal: string | null;
  readonly reason: 'exit' | 'signal' | 'time_limit' | 'oom' | 'launcher_error';
  /** What `sandgate run` exited with: the code, or 128 + the signal's number. */
  readonly status: number;
  readonly cpuMs: number;
  readonly peakMemoryBytes: number;
  readonly wallMs: number;
  readonly hostUid: number;
}

const REASONS: readonly RunReport['reason'][] = ['exit', 'signal', 'time_limit', 'oom', 'launcher_error'];

function isReason(value: unknown): value is RunReport['reason'] {
  return REASONS.some((reason) => reason === value);
}

function field<T>(document: Record<string, unknown>, name: string, check: (value: unknown) => value is T, expected: string): T {
  const value = document[name];
  if (!check(value)) throw new Error(`report field ${name} is ${JSON.stringify(value)}, expected ${expected}`);
  return value;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isNumberOrNull = (value: unknown): value is number | null => value === null || isNumber(value);
const isStringOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

export function readRunReport(file: string): RunReport {
  const document: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error(`report ${file} is not a JSON object`);
  }
  const fields = Object.fromEntries(Object.entries(document));
  return {
    exitCode: field(fields, 'exitCode', isNumberOrNull, 'a number or null'),
    signal: field(fields, 'signal', isStringOrNull, 'a signal name or null'),
    reason: field(fields, 'reason', isReason, REASONS.join('|')),
    status: field(fields, 'status', isNumber, 'a number'),
    cpuMs: field(fields, 'cpuMs', isNumber, 'a number'),
    peakMemoryBytes: field(fields, 'peakMemoryBytes', isNumber, 'a number'),
    wallMs: field(fields, 'wallMs', isNumber, 'a number'),
    hostUid: field(fields, 'hostUid', isNumber, 'a number'),
  };
}
