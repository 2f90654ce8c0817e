/**
 * The live traffic page's pure modules (ui/src/metrics): the Prometheus text parser, counter rates
 * with resets, bucket increases and histogram_quantile, against values computed by hand.
 */
import { describe, expect, it } from 'vitest';
import { monitorGauges, servedVersions } from '../../../ui/src/metrics/monitor.js';
import { labelKey, parseExposition, parseValue, type Sample } from '../../../ui/src/metrics/parse.js';
import {
  bucketIncreases,
  counterIncrease,
  histogramQuantile,
  modelVersions,
  quantilesOf,
  type Snapshot,
  SnapshotRing,
  snapshotOf,
  type TrafficPoint,
  trafficPoint,
  trafficSeries,
} from '../../../ui/src/metrics/traffic.js';

const INF = Number.POSITIVE_INFINITY;
const snap = (t: number, text: string): Snapshot => snapshotOf(parseExposition(text).samples, t);

describe('parseExposition', () => {
  it('reads names, labels, values, TYPE lines, and skips comments and a timestamp', () => {
    const text = [
      '# HELP ferry_http_requests_total HTTP requests by route, method and status code',
      '# TYPE ferry_http_requests_total counter',
      'ferry_http_requests_total{route="/predict",method="POST",status="200"} 12 1700000000000',
      'ferry_http_in_flight_requests 3',
      '# TYPE ferry_batch_size histogram',
      'ferry_batch_size_bucket{le="+Inf",model="tagifai",version="1"} 7',
      '',
    ].join('\n');
    const e = parseExposition(text);
    expect(e.skipped).toBe(0);
    expect(e.types.get('ferry_http_requests_total')).toBe('counter');
    expect(e.types.get('ferry_batch_size')).toBe('histogram');
    expect(e.samples).toEqual<Sample[]>([
      {
        name: 'ferry_http_requests_total',
        labels: { route: '/predict', method: 'POST', status: '200' },
        value: 12,
      },
      { name: 'ferry_http_in_flight_requests', labels: {}, value: 3 },
      { name: 'ferry_batch_size_bucket', labels: { le: '+Inf', model: 'tagifai', version: '1' }, value: 7 },
    ]);
  });

  it('unescapes label values: backslash, double quote, newline; commas, braces and spaces inside quotes', () => {
    const e = parseExposition(
      'm{a="C:\\\\dir\\\\",b="say \\"hi\\"",c="two\\nlines",d="x,}{ =y",} 1\n' + 'm{ a = "z" } 2',
    );
    expect(e.skipped).toBe(0);
    expect(e.samples[0]!.labels).toEqual({ a: 'C:\\dir\\', b: 'say "hi"', c: 'two\nlines', d: 'x,}{ =y' });
    expect(e.samples[1]!.labels).toEqual({ a: 'z' });
  });

  it('reads +Inf, -Inf, NaN and exponent notation', () => {
    const e = parseExposition('a +Inf\nb -Inf\nc NaN\nd 1.5e-05\ne -2E+3\nf .5\ng 7.');
    expect(e.samples.map((s) => s.value)).toEqual([INF, -INF, Number.NaN, 1.5e-5, -2000, 0.5, 7]);
    expect(parseValue('Inf')).toBe(INF);
    expect(parseValue('0x10')).toBeNaN();
    expect(parseValue('1e')).toBeNaN();
  });

  it('skips malformed lines and keeps the rest', () => {
    const e = parseExposition(
      [
        'ok 1',
        '9bad 1',
        'm{a="unterminated} 1',
        'm{a=unquoted} 1',
        'm 1 2 3',
        'novalue',
        'm abc',
        'ok2 2',
      ].join('\n'),
    );
    expect(e.samples.map((s) => s.name)).toEqual(['ok', 'ok2']);
    expect(e.skipped).toBe(6);
  });

  it('labelKey is independent of label order and can leave one label out', () => {
    expect(labelKey({ b: '2', a: '1' })).toBe(labelKey({ a: '1', b: '2' }));
    expect(labelKey({ a: '1', le: '0.5' }, 'le')).toBe(labelKey({ a: '1', le: '+Inf' }, 'le'));
    expect(labelKey({ a: 'x,b="y"' })).not.toBe(labelKey({ a: 'x', b: 'y' }));
  });
});

describe('histogramQuantile (PromQL semantics)', () => {
  const buckets = [
    { le: 0.1, count: 10 },
    { le: 0.5, count: 30 },
    { le: 1, count: 40 },
    { le: INF, count: 40 },
  ];
  it('interpolates linearly inside the bucket the rank falls in', () => {
    // rank 20 → bucket (0.1, 0.5] holding 20, 10 below: 0.1 + 0.4 × 10/20
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.3, 12);
    // rank 38 → bucket (0.5, 1] holding 10, 30 below: 0.5 + 0.5 × 8/10
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.9, 12);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.98, 12);
    // the first bucket starts at 0: 0.1 × 4/10
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.04, 12);
  });
  it('answers the highest finite bound in the +Inf bucket, the bound of a first bucket ≤ 0, NaN with no data', () => {
    expect(
      histogramQuantile(0.9, [
        { le: 0.1, count: 10 },
        { le: INF, count: 20 },
      ]),
    ).toBe(0.1);
    const queue = [
      { le: 0, count: 5 },
      { le: 0.001, count: 10 },
      { le: INF, count: 10 },
    ];
    expect(histogramQuantile(0.4, queue)).toBe(0);
    expect(histogramQuantile(0.75, queue)).toBeCloseTo(0.0005, 12);
    expect(
      histogramQuantile(0.5, [
        { le: 1, count: 0 },
        { le: INF, count: 0 },
      ]),
    ).toBeNaN();
    expect(histogramQuantile(0.5, [{ le: 1, count: 3 }])).toBeNaN();
    expect(
      histogramQuantile(0.5, [
        { le: 1, count: 3 },
        { le: 2, count: 3 },
      ]),
    ).toBeNaN();
    expect(histogramQuantile(-1, buckets)).toBe(-INF);
    expect(histogramQuantile(2, buckets)).toBe(INF);
  });
  it('sorts the buckets and makes decreasing cumulative counts monotonic', () => {
    const shuffled = [buckets[2]!, buckets[3]!, buckets[0]!, buckets[1]!];
    expect(histogramQuantile(0.5, shuffled)).toBeCloseTo(0.3, 12);
    // 0.5's count 8 < 10 is raised to 10: rank 10 falls in the first bucket (0.1 × 10/10)
    expect(
      histogramQuantile(0.5, [
        { le: 0.1, count: 10 },
        { le: 0.5, count: 8 },
        { le: INF, count: 20 },
      ]),
    ).toBeCloseTo(0.1, 12);
  });
});

const START = 'process_start_time_seconds 1700000000\n';
const req = (n: number, status = '200') =>
  `ferry_http_requests_total{route="/predict",method="POST",status="${status}"} ${n}\n`;

describe('counter rates', () => {
  it('counterIncrease: a drop is a reset counted from zero; a new series counts whole', () => {
    expect(counterIncrease(100, 160)).toBe(60);
    expect(counterIncrease(160, 10)).toBe(10);
    expect(counterIncrease(undefined, 7)).toBe(7);
  });

  it('requests/s between scrapes, through a counter reset and a restart', () => {
    const a = snap(0, START + req(100));
    const b = snap(2000, START + req(160) + req(4, '503'));
    const c = snap(4000, START + req(10) + req(4, '503')); // the counter went down: reset
    const d = snap(6000, 'process_start_time_seconds 1700000005\n' + req(40)); // restarted, 40 > 10
    const series = trafficSeries([a, b, c, d]);
    expect(series.map((p) => p.requestsPerSec)).toEqual([32, 5, 20]);
    expect(series.map((p) => p.errorsPerSec)).toEqual([2, 0, 0]);
    expect(series[0]!.routes[0]!.byStatus).toEqual({ '200': 30, '503': 2 });
    expect(series[0]!.routes[0]!.perSec).toBe(32);
    // A cache gives the same points, reuses them, and forgets scrapes that fell out of the window.
    const cache = new Map<string, TrafficPoint | undefined>();
    expect(trafficSeries([a, b, c, d], {}, cache)).toEqual(series);
    expect(cache.size).toBe(3);
    const again = trafficSeries([b, c, d], {}, cache);
    expect(again[0]).toBe(cache.get(`[null,null]|${b.t}|${c.t}`));
    expect(again.map((p) => p.requestsPerSec)).toEqual([5, 20]);
    expect(cache.size).toBe(2);
  });

  it('predictions/s per model and version, the cached share, shed/s and the cache hit rate', () => {
    const text = (m1: number, cache1: number, m2: number, hit: number, miss: number, shed: number) =>
      START +
      `ferry_predictions_total{model="tagifai",version="1",source="model"} ${m1}\n` +
      `ferry_predictions_total{model="tagifai",version="1",source="cache"} ${cache1}\n` +
      `ferry_predictions_total{model="tagifai",version="2",source="model"} ${m2}\n` +
      `ferry_cache_lookups_total{result="hit"} ${hit}\n` +
      `ferry_cache_lookups_total{result="miss"} ${miss}\n` +
      `ferry_requests_shed_total{model="tagifai",reason="queue_full"} ${shed}\n` +
      `ferry_requests_shed_total{model="other",reason="deadline"} ${shed}\n`;
    const a = snap(10_000, text(10, 0, 5, 0, 15, 0));
    const b = snap(14_000, text(30, 20, 9, 20, 35, 8));
    const all = trafficPoint(a, b)!;
    expect(all.seconds).toBe(4);
    expect(all.predictionsPerSec).toBe((20 + 20 + 4) / 4);
    expect(all.cachedPerSec).toBe(5);
    expect(all.cacheHitRate).toBe(0.5); // 20 hits of 40 lookups
    expect(all.cacheLookupsPerSec).toBe(10);
    expect(all.shedPerSec).toBe(4);
    const v1 = trafficPoint(a, b, { model: 'tagifai', version: '1' })!;
    expect(v1.predictionsPerSec).toBe(10);
    expect(v1.shedPerSec).toBe(2);
    expect(v1.shedByReason).toEqual({ queue_full: 2 });
    expect(trafficPoint(a, b, { model: 'tagifai', version: '2' })!.predictionsPerSec).toBe(1);
    expect(trafficPoint(a, a)).toBeUndefined();
    // No lookup in the interval: no hit rate, not 0.
    expect(trafficPoint(b, snap(16_000, text(30, 20, 9, 20, 35, 8)))!.cacheHitRate).toBeNull();
    expect(modelVersions(b)).toEqual([
      { model: 'tagifai', version: '1' },
      { model: 'tagifai', version: '2' },
    ]);
  });
});

describe('histogram intervals', () => {
  const hist = (name: string, labels: string, counts: Array<[string, number]>, sum: number) =>
    counts.map(([le, c]) => `${name}_bucket{${labels}le="${le}"} ${c}\n`).join('') +
    `${name}_sum{${labels.replace(/,$/, '')}} ${sum}\n` +
    `${name}_count{${labels.replace(/,$/, '')}} ${counts.at(-1)![1]}\n`;

  it('quantiles from the buckets’ increases over the interval, summed over the selected series', () => {
    const v1 = 'model="tagifai",version="1",';
    const v2 = 'model="tagifai",version="2",';
    const a = snap(
      0,
      START +
        hist(
          'ferry_predict_duration_seconds',
          v1,
          [
            ['0.001', 10],
            ['0.01', 20],
            ['+Inf', 20],
          ],
          0.1,
        ) +
        hist(
          'ferry_predict_duration_seconds',
          v2,
          [
            ['0.001', 0],
            ['0.01', 0],
            ['+Inf', 0],
          ],
          0,
        ),
    );
    const b = snap(
      2000,
      START +
        hist(
          'ferry_predict_duration_seconds',
          v1,
          [
            ['0.001', 10],
            ['0.01', 60],
            ['+Inf', 70],
          ],
          1,
        ) +
        hist(
          'ferry_predict_duration_seconds',
          v2,
          [
            ['0.001', 30],
            ['0.01', 30],
            ['+Inf', 30],
          ],
          0.01,
        ),
    );
    expect(bucketIncreases(a, b, 'ferry_predict_duration_seconds', (l) => l.version === '1')).toEqual([
      { le: 0.001, count: 0 },
      { le: 0.01, count: 40 },
      { le: INF, count: 50 },
    ]);
    const one = trafficPoint(a, b, { model: 'tagifai', version: '1' })!.latency;
    // rank 25 of 50 in (0.001, 0.01] holding 40: 0.001 + 0.009 × 25/40
    expect(one.p50).toBeCloseTo(0.006625, 12);
    expect(one.p99).toBe(0.01); // rank 49.5 is in +Inf: the highest finite bound
    expect(one.count).toBe(50);
    // Both versions: {0.001: 30, 0.01: 70, +Inf: 80}; p50 rank 40 → 0.001 + 0.009 × 10/40
    expect(trafficPoint(a, b)!.latency.p50).toBeCloseTo(0.00325, 12);
    // Nothing observed in an interval: no quantile (a gap in the chart), not 0.
    const idle = trafficPoint(b, { ...b, t: 4000 }, { version: '1' })!.latency;
    expect(idle).toEqual({ p50: null, p95: null, p99: null, count: 0 });
  });

  it('a histogram that went down was reset: its current buckets are the increase', () => {
    const labels = 'model="m",version="1",';
    const a = snap(
      0,
      START +
        hist(
          'ferry_batch_size',
          labels,
          [
            ['1', 50],
            ['4', 80],
            ['+Inf', 100],
          ],
          250,
        ),
    );
    const b = snap(
      2000,
      START +
        hist(
          'ferry_batch_size',
          labels,
          [
            ['1', 2],
            ['4', 6],
            ['+Inf', 8],
          ],
          30,
        ),
    );
    expect(bucketIncreases(a, b, 'ferry_batch_size')).toEqual([
      { le: 1, count: 2 },
      { le: 4, count: 6 },
      { le: INF, count: 8 },
    ]);
    const p = trafficPoint(a, b)!;
    expect(p.batchSize.mean).toBe(30 / 8);
    // rank 4 of 8 in (1, 4] holding 4, 2 below: 1 + 3 × 2/4
    expect(p.batchSize.p50).toBeCloseTo(2.5, 12);
    // A batch has at least one item: the first bucket (le 1) runs from 1, not from 0.
    const ones = [
      { le: 1, count: 6 },
      { le: 4, count: 8 },
      { le: INF, count: 8 },
    ];
    expect(histogramQuantile(0.5, ones)).toBeCloseTo(4 / 6, 12); // PromQL: from 0, rank 4 of the 6
    expect(histogramQuantile(0.5, ones, 1)).toBe(1);
    expect(quantilesOf(ones, 1).p95).toBeCloseTo(1 + 3 * (1.6 / 2), 12);
    // queue time has a bucket at 0: half the batches did not wait
    const q = quantilesOf([
      { le: 0, count: 4 },
      { le: 0.0001, count: 8 },
      { le: INF, count: 8 },
    ]);
    expect(q.p50).toBe(0);
    expect(q.p95).toBeCloseTo(0.0001 * (3.6 / 4), 12);
  });
});

describe('SnapshotRing', () => {
  it('keeps the last window, and starts over when the clock goes back', () => {
    const ring = new SnapshotRing(10_000, 5);
    for (let t = 0; t <= 20_000; t += 2000) ring.push(snap(t, req(t)));
    expect(ring.snapshots.map((s) => s.t)).toEqual([12_000, 14_000, 16_000, 18_000, 20_000]);
    const wide = new SnapshotRing(5000);
    for (let t = 0; t <= 20_000; t += 2000) wide.push(snap(t, req(t)));
    expect(wide.snapshots.map((s) => s.t)).toEqual([16_000, 18_000, 20_000]);
    wide.push(snap(1000, req(1)));
    expect(wide.snapshots.map((s) => s.t)).toEqual([1000]);
  });
});

describe('monitor gauges on /metrics', () => {
  const text = [
    'ferry_model_loaded{model="tagifai",version="2",alias="staging"} 1',
    'ferry_model_loaded{model="tagifai",version="1",alias="production"} 1',
    'ferry_model_loaded{model="tagifai",version="3",alias="on-demand"} 0',
    'ferry_model_loaded{model="other",version="4",alias="production"} 1',
    'ferry_monitor_last_run_timestamp_seconds 1765094400.5',
    'ferry_monitor_dataset_drift_share{model="tagifai"} 0.5',
    'ferry_monitor_drift_score{model="tagifai",feature="token_count",method="ks"} 0.01',
    'ferry_monitor_drift_score{model="tagifai",feature="text_length",method="ks"} 0.2',
    'ferry_monitor_drift_score{model="other",feature="x[0]",method="ks"} 0.9',
    'ferry_monitor_feature_drifted{model="tagifai",feature="token_count"} 1',
    'ferry_monitor_feature_drifted{model="tagifai",feature="text_length"} 0',
    'ferry_monitor_detector_drifts_total{model="tagifai",detector="adwin",stream="confidence"} 2',
    'ferry_monitor_alerts_total{rule="dataset-drift",severity="warning"} 3',
    'ferry_monitor_tick_failures_total{model="tagifai@production"} 1',
    'ferry_monitor_tick_failures_total{model="tagifai-other"} 5',
  ].join('\n');
  const samples = parseExposition(text).samples;

  it('lists the loaded versions, sorted, without the unloaded ones', () => {
    expect(servedVersions(samples)).toEqual([
      { model: 'other', version: '4', alias: 'production' },
      { model: 'tagifai', version: '1', alias: 'production' },
      { model: 'tagifai', version: '2', alias: 'staging' },
    ]);
  });

  it('reads the loop of one model: last run, drift share, features, detectors, alerts, failures', () => {
    const g = monitorGauges(samples, 'tagifai');
    expect(g.running).toBe(true);
    expect(g.lastRunMs).toBe(1765094400500);
    expect(g.datasetDriftShare).toBe(0.5);
    expect(g.features).toEqual([
      { feature: 'text_length', method: 'ks', score: 0.2, drifted: false },
      { feature: 'token_count', method: 'ks', score: 0.01, drifted: true },
    ]);
    expect(g.detectors).toEqual([{ detector: 'adwin', stream: 'confidence', signals: 2 }]);
    expect(g.alerts).toEqual([{ rule: 'dataset-drift', severity: 'warning', fired: 3 }]);
    expect(g.tickFailures).toBe(1); // tagifai@production, not tagifai-other
    const off = monitorGauges(
      parseExposition('ferry_model_loaded{model="m",version="1",alias="production"} 1').samples,
      'm',
    );
    expect(off).toMatchObject({ running: false, lastRunMs: null, datasetDriftShare: null, features: [] });
  });
});
