import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random.js';
import { SeriesCounter, SeriesHistogram } from '../../../src/serving/series-metrics.js';

/*
 * SeriesCounter and SeriesHistogram replace prom-client's Counter and Histogram on the request path:
 * a scrape, and a cluster's aggregate, must read exactly what prom-client's own classes would give
 * for the same observations.
 */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];
const ROUTES = ['/predict', '/v2/models/{model}/infer', '/metrics'] as const;

/** The same observations into prom-client's classes (on `theirs`) and into the series ones (on `ours`). */
function observeBoth(seed: number) {
  const theirs = new Registry();
  const ours = new Registry();
  const config = (registry: Registry) => ({ help: 'h', registers: [registry] });
  const h1 = new Histogram({
    name: 'lat',
    labelNames: ['route', 'method'],
    buckets: BUCKETS,
    ...config(theirs),
  });
  const h2 = new SeriesHistogram({
    name: 'lat',
    labelNames: ['route', 'method'],
    buckets: BUCKETS,
    ...config(ours),
  });
  const c1 = new Counter({ name: 'req', labelNames: ['route', 'status'], ...config(theirs) });
  const c2 = new SeriesCounter({ name: 'req', labelNames: ['route', 'status'], ...config(ours) });
  const next = seededRandom(seed);
  for (let i = 0; i < 3000; i++) {
    const route = ROUTES[Math.floor(next() * ROUTES.length)]!;
    const method = next() < 0.8 ? 'POST' : 'GET';
    // Values on the bounds themselves too: a bound belongs to its own bucket (le).
    const value = next() < 0.1 ? BUCKETS[Math.floor(next() * BUCKETS.length)]! : next() ** 4 * 3;
    h1.observe({ route, method }, value);
    if (i % 2 === 0) h2.observe({ route, method }, value);
    else h2.series({ route, method }).observe(value);
    const status = next() < 0.9 ? '200' : '422';
    const by = Math.floor(next() * 3);
    c1.inc({ route, status }, by);
    c2.series({ route, status }).inc(by);
  }
  return { theirs, ours, h2, c2 };
}

describe('SeriesCounter and SeriesHistogram', () => {
  it('scrape to the same Prometheus text as prom-client, series by series', async () => {
    for (const seed of [1, 7, 42]) {
      const { theirs, ours } = observeBoth(seed);
      const lines = (text: string) => text.split('\n').sort();
      expect(lines(await ours.metrics()), `seed ${seed}`).toEqual(lines(await theirs.metrics()));
    }
  });

  it('aggregate across a cluster as prom-client does (summed)', async () => {
    const a = observeBoth(3);
    const b = observeBoth(5);
    const theirs = AggregatorRegistry.aggregate([
      await a.theirs.getMetricsAsJSON(),
      await b.theirs.getMetricsAsJSON(),
    ]);
    const ours = AggregatorRegistry.aggregate([
      await a.ours.getMetricsAsJSON(),
      await b.ours.getMetricsAsJSON(),
    ]);
    const lines = (text: string) => text.split('\n').sort();
    expect(lines(await ours.metrics())).toEqual(lines(await theirs.metrics()));
  });

  it('keep one series per label set, and an empty metric prints its header only', async () => {
    const registry = new Registry();
    const h = new SeriesHistogram({
      name: 'h',
      help: 'help',
      labelNames: ['model'],
      buckets: [1],
      registers: [registry],
    });
    expect(await registry.metrics()).toBe('# HELP h help\n# TYPE h histogram\n');
    expect(h.series({ model: 'a' })).toBe(h.series({ model: 'a' }));
    expect(h.series({ model: 'a' })).not.toBe(h.series({ model: 'b' }));
    h.observe({ model: 'a' }, 2);
    expect(await registry.metrics()).toContain(
      'h_bucket{le="1",model="a"} 0\nh_bucket{le="+Inf",model="a"} 1',
    );
    h.reset();
    expect(await registry.metrics()).toBe('# HELP h help\n# TYPE h histogram\n');
  });

  it('refuse what prom-client refuses: a missing label, a non-finite value, a negative increment', () => {
    const registry = new Registry();
    const h = new SeriesHistogram({
      name: 'h',
      help: 'h',
      labelNames: ['a', 'b'],
      buckets: [1],
      registers: [registry],
    });
    const c = new SeriesCounter({ name: 'c', help: 'c', labelNames: ['a'], registers: [registry] });
    expect(() => h.series({ a: 'x' } as { a: string; b: string })).toThrow(/label "b"/);
    expect(() => h.observe({ a: 'x', b: 'y' }, Number.NaN)).toThrow(TypeError);
    expect(() => h.observe({ a: 'x', b: 'y' }, Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => c.inc({ a: 'x' }, -1)).toThrow(TypeError);
    expect(() => c.inc({ a: 'x' }, Number.NaN)).toThrow(TypeError);
  });
});
