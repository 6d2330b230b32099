/**
 * A small Prometheus registry: counters, gauges and histograms with fixed label names, and
 * the text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Hand-written rather than prom-client to add no dependency for ~150 lines; the API mirrors
 * prom-client's (inc/set/observe with a labels object), so swapping it in later is mechanical.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Distinct label sets kept per metric; beyond it new sets are dropped (label values must be a closed set). */
export const MAX_SERIES_PER_METRIC = 1000;

export type Labels<L extends string> = Readonly<Record<L, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

abstract class Metric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, { readonly labels: Labels<L>; state: S }>();
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(options: MetricOptions<L>) {
    if (!METRIC_NAME.test(options.name)) throw new TypeError(`invalid metric name ${options.name}`);
    for (const label of options.labelNames ?? []) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new TypeError(`invalid label name ${label} on ${options.name}`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = Object.freeze([...(options.labelNames ?? [])]);
  }

  protected abstract initial(): S;
  protected abstract sampleLines(labels: Labels<L>, state: S): string[];

  /** The state of one label set, if it has been used. */
  protected peek(labels: Labels<L>): { state: S } | undefined {
    return this.series.get(this.#key(labels));
  }

  /** The state of one label set, created on first use; undefined when the series cap is reached. */
  protected stateOf(labels: Labels<L>): { state: S } | undefined {
    const key = this.#key(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (this.series.size >= MAX_SERIES_PER_METRIC) return undefined;
      const copy: Record<string, string> = {};
      for (const name of this.labelNames) copy[name] = String(labels[name]);
      entry = { labels: pickLabels(this.labelNames, copy), state: this.initial() };
      this.series.set(key, entry);
    }
    return entry;
  }

  #key(labels: Labels<L>): string {
    return this.labelNames.map((name) => labels[name]).join('\u0000');
  }

  exposition(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    if (this.labelNames.length === 0 && this.series.size === 0) this.stateOf(pickLabels(this.labelNames, {}));
    for (const { labels, state } of this.series.values()) lines.push(...this.sampleLines(labels, state));
    return lines.join('\n');
  }
}

function pickLabels<L extends string>(names: readonly L[], values: Readonly<Record<string, string>>): Labels<L> {
  const labels: Partial<Record<L, string>> = {};
  for (const name of names) labels[name] = values[name] ?? '';
  // Every name of `names` was assigned just above.
  return Object.freeze(labels) as Labels<L>;
}

export class Counter<L extends string = never> extends Metric<L, { value: number }> {
  readonly type = 'counter';
  protected initial() {
    return { value: 0 };
  }
  /** Adds `by` (≥ 0; a counter only goes up). */
  inc(labels: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter cannot go down`);
    const entry = this.stateOf(labels);
    if (entry !== undefined) entry.state.value += by;
  }
  get(labels: Labels<L>): number {
    return this.peek(labels)?.state.value ?? 0;
  }
  protected sampleLines(labels: Labels<L>, state: { value: number }): string[] {
    return [`${this.name}${formatLabels(labels)} ${formatNumber(state.value)}`];
  }
}

export class Gauge<L extends string = never> extends Metric<L, { value: number }> {
  readonly type = 'gauge';
  readonly #collect: ((gauge: Gauge<L>) => void) | undefined;
  constructor(options: MetricOptions<L> & { readonly collect?: (gauge: Gauge<L>) => void }) {
    super(options);
    this.#collect = options.collect;
  }
  protected initial() {
    return { value: 0 };
  }
  set(labels: Labels<L>, value: number): void {
    const entry = this.stateOf(labels);
    if (entry !== undefined) entry.state.value = value;
  }
  inc(labels: Labels<L>, by = 1): void {
    const entry = this.stateOf(labels);
    if (entry !== undefined) entry.state.value += by;
  }
  dec(labels: Labels<L>, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels: Labels<L>): number {
    return this.peek(labels)?.state.value ?? 0;
  }
  override exposition(): string {
    this.#collect?.(this);
    return super.exposition();
  }
  protected sampleLines(labels: Labels<L>, state: { value: number }): string[] {
    return [`${this.name}${formatLabels(labels)} ${formatNumber(state.value)}`];
  }
}

interface HistogramState {
  readonly bucketCounts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  readonly type = 'histogram';
  /** Upper bounds, strictly increasing; +Inf is implicit. */
  readonly buckets: readonly number[];
  constructor(options: MetricOptions<L> & { readonly buckets: readonly number[] }) {
    super(options);
    if (this.labelNames.some((name) => name === 'le')) throw new TypeError(`${options.name}: "le" is reserved for histogram buckets`);
    const sorted = options.buckets.every((bound, i) => Number.isFinite(bound) && (i === 0 || bound > (options.buckets[i - 1] ?? bound)));
    if (!sorted || options.buckets.length === 0) throw new TypeError(`${options.name}: buckets must be finite and strictly increasing`);
    this.buckets = Object.freeze([...options.buckets]);
  }
  protected initial(): HistogramState {
    return { bucketCounts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(labels: Labels<L>, value: number): void {
    if (Number.isNaN(value)) return;
    const entry = this.stateOf(labels);
    if (entry === undefined) return;
    const index = this.buckets.findIndex((bound) => value <= bound);
    if (index >= 0) entry.state.bucketCounts[index] = (entry.state.bucketCounts[index] ?? 0) + 1;
    entry.state.sum += value;
    entry.state.count += 1;
  }
  protected sampleLines(labels: Labels<L>, state: HistogramState): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += state.bucketCounts[i] ?? 0;
      lines.push(`${this.name}_bucket${formatLabels(labels, ['le', formatNumber(bound)])} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket${formatLabels(labels, ['le', '+Inf'])} ${state.count}`);
    lines.push(`${this.name}_sum${formatLabels(labels)} ${formatNumber(state.sum)}`);
    lines.push(`${this.name}_count${formatLabels(labels)} ${state.count}`);
    return lines;
  }
}

export class MetricsRegistry {
  readonly #metrics = new Map<string, { exposition(): string }>();

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.#add(new Counter<L>(options));
  }
  gauge<L extends string = never>(options: MetricOptions<L> & { readonly collect?: (gauge: Gauge<L>) => void }): Gauge<L> {
    return this.#add(new Gauge<L>(options));
  }
  histogram<L extends string = never>(options: MetricOptions<L> & { readonly buckets: readonly number[] }): Histogram<L> {
    return this.#add(new Histogram<L>(options));
  }

  /** Every metric in the text format, in registration order, ending with a newline. */
  exposition(): string {
    return `${[...this.#metrics.values()].map((metric) => metric.exposition()).join('\n')}\n`;
  }

  #add<M extends { readonly name: string; exposition(): string }>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new TypeError(`metric ${metric.name} is registered twice`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

function formatLabels(labels: Readonly<Record<string, string>>, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  if (extra !== undefined) pairs.push(`${extra[0]}="${extra[1]}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** Label values escape backslash, double quote and line feed; HELP escapes backslash and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
