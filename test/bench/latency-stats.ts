/**
 * Summaries of latency samples and the table the benchmarks print. Pure: no timing here.
 */

export interface LatencySummary {
  readonly name: string;
  readonly runs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile (the smallest sample with at least p% of samples at or below it). */
export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) throw new Error('percentile of no samples');
  const rank = Math.max(1, Math.ceil((p / 100) * sortedMs.length));
  const value = sortedMs[Math.min(rank, sortedMs.length) - 1];
  if (value === undefined) throw new Error(`no sample at rank ${rank}`);
  return value;
}

export function summarize(name: string, samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    name,
    runs: sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

function cell(text: string, width: number, alignLeft = false): string {
  return alignLeft ? text.padEnd(width) : text.padStart(width);
}

/** A fixed-width table: one row per summary, milliseconds with two decimals. */
export function formatTable(summaries: readonly LatencySummary[]): string {
  const nameWidth = Math.max(4, ...summaries.map((s) => s.name.length));
  const columns = ['runs', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'max ms'];
  const header = [cell('path', nameWidth, true), ...columns.map((c) => cell(c, 8))].join('  ');
  const rows = summaries.map((s) =>
    [
      cell(s.name, nameWidth, true),
      cell(String(s.runs), 8),
      ...[s.p50Ms, s.p90Ms, s.p99Ms, s.meanMs, s.maxMs].map((ms) => cell(ms.toFixed(2), 8)),
    ].join('  '),
  );
  return [header, '-'.repeat(header.length), ...rows].join('\n');
}

/** `a / b` at p50 and p99, e.g. `sandgate / bwrap  p50 1.23x  p99 2.34x`. */
export function formatRatio(a: LatencySummary, b: LatencySummary): string {
  return `${a.name} / ${b.name}  p50 ${(a.p50Ms / b.p50Ms).toFixed(2)}x  p99 ${(a.p99Ms / b.p99Ms).toFixed(2)}x`;
}
