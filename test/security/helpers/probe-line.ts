import type { ExecutionContext } from 'ava';

import type { SandboxReport } from './sandbox-report.js';

/** What a run shows of itself: a SandboxRun (pipes) or a PtyRun (terminal) both fit. */
export interface RunOutput {
  readonly exitCode: number | null;
  /** stdout, or the terminal transcript. */
  readonly stdout: string;
  readonly stderr?: string;
  readonly signal?: string | number | null | undefined;
  readonly report: SandboxReport | undefined;
  readonly timedOut: boolean;
}

export type Verdict = 'HELD' | 'BREACH' | 'ERROR';

/** One probe's result line: `<VERDICT> <probe> key=value ...` (see probes/probe.h). */
export interface ProbeLine {
  readonly verdict: Verdict;
  readonly probe: string;
  /** Values by key; a key the probe printed more than once has its values joined with `,`. */
  readonly fields: ReadonlyMap<string, string>;
  readonly text: string;
}

const LINE = /^(HELD|BREACH|ERROR) (\S+)((?: \S+)*)\s*$/;

function isVerdict(value: string | undefined): value is Verdict {
  return value === 'HELD' || value === 'BREACH' || value === 'ERROR';
}

/** The last result line of `probe` in `output` (a terminal's `\r\n` is accepted). */
export function parseProbeLine(output: string, probe: string): ProbeLine | undefined {
  let found: ProbeLine | undefined;
  for (const raw of output.split('\n')) {
    const text = raw.replace(/\r$/, '');
    const match = LINE.exec(text);
    if (match === null || match[2] !== probe || !isVerdict(match[1])) continue;
    const fields = new Map<string, string>();
    for (const pair of (match[3] ?? '').trim().split(' ')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      const before = fields.get(key);
      fields.set(key, before === undefined ? value : `${before},${value}`);
    }
    found = { verdict: match[1], probe, fields, text };
  }
  return found;
}

/**
 * What a field must be: one exact value, any of several, a pattern, or a predicate (with a
 * description for the failure message).
 */
export type Expected = string | readonly string[] | RegExp | { readonly test: (value: string) => boolean; readonly what: string };

function matches(expected: Expected, value: string): boolean {
  if (typeof expected === 'string') return value === expected;
  if (expected instanceof RegExp) return expected.test(value);
  if ('test' in expected) return expected.test(value);
  return expected.includes(value);
}

function describeExpected(expected: Expected): string {
  if (typeof expected === 'string') return expected;
  if (expected instanceof RegExp) return String(expected);
  if ('what' in expected) return expected.what;
  return `one of ${expected.join('|')}`;
}

/** A predicate expectation on a decimal field. */
export function numberWhere(what: string, test: (n: number) => boolean): Expected {
  return { what, test: (value: string) => /^-?\d+(\.\d+)?$/.test(value) && test(Number(value)) };
}

/** Describes a run for failure messages: the CLI's status, its stderr tail and the report. */
export function describeRun(run: RunOutput): string {
  const report = run.report === undefined ? 'none' : JSON.stringify(run.report.raw);
  const stderr = JSON.stringify((run.stderr ?? '').slice(-600));
  return `exit ${run.exitCode} signal ${run.signal ?? null}${run.timedOut ? ' (timed out)' : ''}; stdout ${JSON.stringify(run.stdout.slice(-600))}; stderr ${stderr}; report ${report}`;
}

/**
 * Asserts that `probe` ran, found the sandbox held (HELD, exit 0), and printed each expected
 * field with the expected value. All mismatches are shown at once, with the whole line.
 */
export function assertHeld(t: ExecutionContext, run: RunOutput, probe: string, expected: Readonly<Record<string, Expected>>): ProbeLine {
  const line = parseProbeLine(run.stdout, probe);
  if (line === undefined) {
    t.fail(`no result line from probe ${probe}: ${describeRun(run)}`);
    throw new Error(`no result line from probe ${probe}`);
  }
  const mismatches: string[] = [];
  for (const [key, want] of Object.entries(expected)) {
    const value = line.fields.get(key);
    if (value === undefined) mismatches.push(`${key}: missing, expected ${describeExpected(want)}`);
    else if (!matches(want, value)) mismatches.push(`${key}=${value}, expected ${describeExpected(want)}`);
  }
  t.deepEqual(mismatches, [], `probe line: ${line.text}`);
  t.is(line.verdict, 'HELD', `probe line: ${line.text}`);
  t.is(run.exitCode, 0, describeRun(run));
  return line;
}

/** The same expectation for many keys. */
export function allOf(keys: readonly string[], expected: Expected): Record<string, Expected> {
  return Object.fromEntries(keys.map((key) => [key, expected]));
}
