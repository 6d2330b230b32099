import test from 'ava';
import { createGatewayMetrics } from '../../../server/http/gateway-metrics.js';
import { MAX_SERIES_PER_METRIC, MetricsRegistry } from '../../../server/http/metrics-registry.js';

test('counters, gauges and histograms in the text exposition format', (t) => {
  const registry = new MetricsRegistry();
  const refusals = registry.counter({ name: 'x_refusals_total', help: 'Refusals.', labelNames: ['code'] });
  const open = registry.gauge({ name: 'x_open', help: 'Open.' });
  const latency = registry.histogram({ name: 'x_seconds', help: 'Latency.', buckets: [0.1, 1] });
  refusals.inc({ code: 'SG_OVERLOADED' });
  refusals.inc({ code: 'SG_OVERLOADED' }, 2);
  open.set({}, 7);
  open.dec({});
  latency.observe({}, 0.05);
  latency.observe({}, 0.5);
  latency.observe({}, 5);
  t.is(
    registry.exposition(),
    [
      '# HELP x_refusals_total Refusals.',
      '# TYPE x_refusals_total counter',
      'x_refusals_total{code="SG_OVERLOADED"} 3',
      '# HELP x_open Open.',
      '# TYPE x_open gauge',
      'x_open 6',
      '# HELP x_seconds Latency.',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{le="0.1"} 1',
      'x_seconds_bucket{le="1"} 2',
      'x_seconds_bucket{le="+Inf"} 3',
      'x_seconds_sum 5.55',
      'x_seconds_count 3',
      '',
    ].join('\n'),
  );
});

test('label values and help text are escaped', (t) => {
  const registry = new MetricsRegistry();
  registry.counter({ name: 'x_total', help: 'a\\b\nc', labelNames: ['v'] }).inc({ v: 'q"\\\n' });
  t.true(registry.exposition().includes('# HELP x_total a\\\\b\\nc'));
  t.true(registry.exposition().includes('x_total{v="q\\"\\\\\\n"} 1'));
});

test('names are checked, counters only go up, series are capped', (t) => {
  const registry = new MetricsRegistry();
  t.throws(() => registry.counter({ name: 'bad-name', help: '' }));
  t.throws(() => registry.histogram({ name: 'h', help: '', buckets: [1, 1] }));
  t.throws(() => registry.histogram({ name: 'h2', help: '', buckets: [1], labelNames: ['le'] }));
  const counter = registry.counter({ name: 'c_total', help: '', labelNames: ['k'] });
  t.throws(() => counter.inc({ k: 'a' }, -1));
  t.throws(() => registry.counter({ name: 'c_total', help: '' }), { message: /registered twice/ });
  for (let i = 0; i < MAX_SERIES_PER_METRIC + 10; i += 1) counter.inc({ k: String(i) });
  t.is(registry.exposition().split('\n').filter((line) => line.startsWith('c_total{')).length, MAX_SERIES_PER_METRIC);
  t.is(counter.get({ k: 'never' }), 0);
});

test('the gateway metrics are registered once each', (t) => {
  const metrics = createGatewayMetrics();
  const text = metrics.registry.exposition();
  for (const name of ['sandgate_connections', 'sandgate_sessions', 'sandgate_admissions_total', 'sandgate_refusals_total', 'sandgate_spawn_duration_seconds', 'sandgate_pong_timeouts_total', 'sandgate_draining']) {
    t.true(text.includes(`# TYPE ${name} `), name);
  }
});
