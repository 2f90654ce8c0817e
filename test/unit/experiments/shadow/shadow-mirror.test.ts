import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../../src/core/errors.js';
import { seededRandom } from '../../../../src/core/random.js';
import { ShadowMirror, type ShadowMirrorOptions } from '../../../../src/experiments/shadow/shadow-mirror.js';
import { ShadowStats } from '../../../../src/experiments/shadow/shadow-stats.js';
import type { NamedTensors } from '../../../../src/model/tensor.js';

/** Items carry the label each model answers, so the expected comparison is known in advance. */
type TestItem = NamedTensors;

const text = (value: string) => ({ datatype: 'BYTES' as const, shape: [], data: [value] });

function item(prod: string, shadow: string, title = `${prod}->${shadow}`): TestItem {
  return { title: text(title), prod: text(prod), shadow: text(shadow) };
}

const predictionOf = (label: string): NamedTensors => ({ label: text(label) });
const field = (x: NamedTensors, name: string) => String(x[name]!.data[0]);
const production = (items: readonly NamedTensors[]) => items.map((x) => predictionOf(field(x, 'prod')));
const shadowAnswers = (items: readonly NamedTensors[]) => items.map((x) => predictionOf(field(x, 'shadow')));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function mirrorOf(overrides: Partial<ShadowMirrorOptions> = {}): ShadowMirror {
  return new ShadowMirror({ predict: shadowAnswers, maxQueue: 1_000, sampleRate: 1, ...overrides });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof FerryError ? e.code : 'not a FerryError';
  }
  return undefined;
}

describe('ShadowMirror: comparison', () => {
  it('counts exact agreement and confusion on items with known answers', async () => {
    const mirror = mirrorOf({ maxBatchSize: 4 });
    const requests: TestItem[][] = [
      [item('nlp', 'nlp'), item('nlp', 'nlp'), item('nlp', 'cv')],
      [item('cv', 'cv')],
      [item('mlops', 'other'), item('mlops', 'mlops')],
      [item('other', 'other'), item('nlp', 'nlp'), item('cv', 'nlp'), item('other', 'other')],
    ];
    for (const items of requests) mirror.mirror(items, production(items), 5);
    await mirror.drain();
    const report = mirror.report();
    expect(report).toMatchObject({ offered: 10, mirrored: 10, dropped: 0, compared: 10, agreed: 7 });
    expect(report.agreement).toBeCloseTo(0.7, 12);
    expect(report.confusion).toEqual({
      cv: { cv: 1, nlp: 1 },
      mlops: { mlops: 1, other: 1 },
      nlp: { cv: 1, nlp: 3 },
      other: { other: 2 },
    });
    expect(report.errors).toEqual({ production: 0, shadow: 0 });
    expect(report.latency.production).toMatchObject({ count: 4, p50: 5, p99: 5 });
    expect(report.latency.shadow.count).toBe(4);
  });

  it('measures the shadow with its own clock and keeps production latency as given', async () => {
    let clock = 0;
    const mirror = mirrorOf({
      maxBatchSize: 1,
      now: () => clock,
      predict: (items) => {
        clock += 10 * items.length;
        return shadowAnswers(items);
      },
    });
    for (let i = 1; i <= 100; i++) {
      const items = [item('a', 'a')];
      mirror.mirror(items, production(items), i);
    }
    await mirror.drain();
    const { latency } = mirror.report();
    expect(latency.production.count).toBe(100);
    expect(Math.abs(latency.production.p50! - 50) / 50).toBeLessThanOrEqual(0.01);
    expect(latency.production.p99).toBeCloseTo(99, 0);
    expect(latency.shadow).toEqual({ count: 100, p50: 10, p99: 10, max: 10 });
  });

  it('reports null agreement and latencies before anything ran', () => {
    const report = mirrorOf().report();
    expect(report.agreement).toBeNull();
    expect(report.latency.shadow.p99).toBeNull();
    expect(report.confusion).toEqual({});
  });
});

describe('ShadowMirror: off the request path', () => {
  it('a slow shadow never delays production: mirror() takes < 1 ms and the answers are production’s', async () => {
    let shadowCalls = 0;
    const mirror = mirrorOf({
      maxQueue: 5,
      maxBatchSize: 1,
      predict: async (items) => {
        shadowCalls += 1;
        await sleep(20);
        return items.map(() => predictionOf('shadow-only-label'));
      },
    });
    const mirrorMs: number[] = [];
    /** A production request as the server runs it: answer, then hand a copy to the mirror. */
    async function handle(items: TestItem[]): Promise<{ predictions: NamedTensors[]; ms: number }> {
      const started = performance.now();
      await new Promise<void>((resolve) => setImmediate(resolve));
      const predictions = production(items);
      const ms = performance.now() - started;
      const before = performance.now();
      mirror.mirror(items, predictions, ms);
      mirrorMs.push(performance.now() - before);
      return { predictions, ms: performance.now() - started };
    }
    // Warm up the code paths so the timing below measures mirror(), not the JIT.
    for (let i = 0; i < 20; i++) mirror.mirror([item('a', 'a')], production([item('a', 'a')]), 1);
    mirrorMs.length = 0;

    const started = performance.now();
    const answers = [];
    for (let i = 0; i < 50; i++) answers.push(await handle([item('nlp', 'x')]));
    const elapsed = performance.now() - started;

    // 50 sequential requests behind a 20 ms shadow would take >= 1 s if the shadow were on the path.
    expect(elapsed).toBeLessThan(400);
    expect(shadowCalls).toBeLessThan(30);
    for (const answer of answers) expect(answer.predictions).toEqual([predictionOf('nlp')]);
    expect(Math.max(...mirrorMs)).toBeLessThan(1);

    await mirror.drain();
    const report = mirror.report();
    expect(report.dropped).toBeGreaterThan(0);
    expect(report.mirrored + report.dropped).toBe(report.offered);
    // Every mirrored item was eventually compared; the shadow's label only ever shows up in the counts.
    expect(report.compared).toBe(report.mirrored);
    expect(report.agreement).toBe(0);
  });

  it('bounds the queue in items: a burst beyond it is dropped and counted, not awaited', async () => {
    const mirror = mirrorOf({ maxQueue: 10 });
    const accepted: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const items = [item('a', 'a'), item('b', 'b')];
      accepted.push(mirror.mirror(items, production(items), 1));
    }
    // Nothing ran yet: the candidate starts on a later turn of the event loop.
    expect(mirror.queuedItems).toBe(10);
    expect(accepted).toEqual([true, true, true, true, true, false, false, false]);
    expect(mirror.report()).toMatchObject({ offered: 16, mirrored: 10, dropped: 6, compared: 0 });
    // A request that can never fit is dropped too.
    expect(
      mirror.mirror(
        Array.from({ length: 11 }, () => item('a', 'a')),
        [],
        1,
      ),
    ).toBe(false);
    await mirror.drain();
    expect(mirror.report()).toMatchObject({
      offered: 27,
      mirrored: 10,
      dropped: 17,
      compared: 10,
      agreed: 10,
    });
    expect(mirror.queuedItems).toBe(0);
  });
});

describe('ShadowMirror: failures', () => {
  it('counts a throwing, rejecting or malformed shadow as shadow errors and never throws to the caller', async () => {
    const behaviours: ((items: readonly NamedTensors[]) => Promise<NamedTensors[]> | NamedTensors[])[] = [
      () => {
        throw new Error('sync boom');
      },
      () => Promise.reject(new Error('async boom')),
      () => [predictionOf('too-few')],
      (items) => items.map(() => ({ probabilities: {} }) as unknown as NamedTensors),
    ];
    for (const [k, predict] of behaviours.entries()) {
      const mirror = mirrorOf({ predict, maxBatchSize: 1 });
      const items = [item('nlp', 'nlp'), item('cv', 'cv')];
      expect(() => mirror.mirror(items, production(items), 3)).not.toThrow();
      await mirror.drain();
      const report = mirror.report();
      expect(report.errors).toEqual({ production: 0, shadow: 2 });
      expect(report.compared).toBe(0);
      expect(report.latency.production.count).toBe(1);
      // The last one answered (malformed slots), so its call time is real; the others never answered.
      expect(report.latency.shadow.count).toBe(k === 3 ? 1 : 0);
    }
  });

  it('one bad request in a merged call charges only its own items', async () => {
    const mirror = mirrorOf({
      maxBatchSize: 10,
      predict: (items) => {
        if (items.some((x) => x.title?.data[0] === 'poison')) throw new Error('cannot handle poison');
        return shadowAnswers(items);
      },
    });
    const good1 = [item('a', 'a'), item('b', 'c')];
    const bad = [item('a', 'a', 'poison')];
    const good2 = [item('d', 'd')];
    for (const items of [good1, bad, good2]) mirror.mirror(items, production(items), 2);
    await mirror.drain();
    expect(mirror.report()).toMatchObject({ compared: 3, agreed: 2, errors: { production: 0, shadow: 1 } });
  });

  it('counts production failures as production errors and still runs the shadow', async () => {
    const mirror = mirrorOf();
    const items = [item('a', 'a'), item('b', 'b')];
    mirror.mirror(items, undefined, 40, new Error('production failed'));
    const short = [item('c', 'c'), item('d', 'd')];
    mirror.mirror(short, production(short).slice(0, 1), 4);
    await mirror.drain();
    const report = mirror.report();
    expect(report.errors).toEqual({ production: 3, shadow: 0 });
    expect(report.compared).toBe(1);
    // A failed production request does not enter production's latency: only successes are compared.
    expect(report.latency.production.count).toBe(1);
    expect(report.latency.shadow.count).toBeGreaterThanOrEqual(1);
  });

  it('survives a broken random(), an invalid latency and nonsense arguments without throwing', async () => {
    const broken = mirrorOf({
      sampleRate: 0.5,
      random: () => {
        throw new Error('no entropy');
      },
    });
    expect(broken.mirror([item('a', 'a')], [predictionOf('a')], 1)).toBe(false);
    const mirror = mirrorOf();
    expect(mirror.mirror([item('a', 'a')], [predictionOf('a')], Number.NaN)).toBe(true);
    expect(mirror.mirror([item('a', 'a')], [predictionOf('a')], -5)).toBe(true);
    expect(mirror.mirror([], [], 1)).toBe(false);
    expect(mirror.mirror(undefined as unknown as NamedTensors[], [], 1)).toBe(false);
    await mirror.drain();
    expect(mirror.report()).toMatchObject({ compared: 2, agreed: 2 });
    expect(mirror.report().latency.production.count).toBe(0);
  });

  it('rejects invalid options with a stable code', () => {
    const bad: Partial<ShadowMirrorOptions>[] = [
      { maxQueue: 0 },
      { maxQueue: 1.5 },
      { sampleRate: 1.1 },
      { sampleRate: Number.NaN },
      { maxBatchSize: 0 },
      { predict: 'model' as unknown as ShadowMirrorOptions['predict'] },
      { random: 4 as unknown as () => number },
    ];
    for (const overrides of bad) {
      expect(codeOf(() => mirrorOf(overrides))).toBe(ErrorCode.EXPERIMENT_INVALID_SHADOW_CONFIG);
    }
  });
});

describe('ShadowMirror: sampling', () => {
  it('mirrors ~25 % at sampleRate 0.25, exactly the requests a seeded random picks', async () => {
    const mirror = mirrorOf({ sampleRate: 0.25, random: seededRandom(42), maxQueue: 100_000 });
    const replay = seededRandom(42);
    let expected = 0;
    for (let i = 0; i < 10_000; i++) {
      if (replay() < 0.25) expected += 1;
      const items = [item('a', 'a')];
      mirror.mirror(items, production(items), 1);
    }
    await mirror.drain();
    const report = mirror.report();
    expect(report.offered).toBe(10_000);
    expect(report.mirrored).toBe(expected);
    expect(report.mirrored / report.offered).toBeGreaterThan(0.24);
    expect(report.mirrored / report.offered).toBeLessThan(0.26);
    expect(report.dropped).toBe(0);
  });

  it('sampleRate 0 mirrors nothing and never calls the candidate', async () => {
    let calls = 0;
    const mirror = mirrorOf({
      sampleRate: 0,
      predict: (items) => {
        calls += 1;
        return shadowAnswers(items);
      },
    });
    for (let i = 0; i < 100; i++) mirror.mirror([item('a', 'a')], [predictionOf('a')], 1);
    await mirror.drain();
    expect(calls).toBe(0);
    expect(mirror.report()).toMatchObject({ offered: 100, mirrored: 0, dropped: 0 });
  });
});

describe('ShadowMirror: replicas and shutdown', () => {
  it('the merge of two replicas’ stored counters equals one mirror that saw everything', async () => {
    const clocked = () => {
      let clock = 0;
      return {
        now: () => clock,
        predict: (items: readonly NamedTensors[]) => {
          clock += 3 + items.length;
          if (items.some((x) => x.title?.data[0] === 'boom')) throw new Error('shadow failed');
          return shadowAnswers(items);
        },
      };
    };
    const all = mirrorOf(clocked());
    const left = mirrorOf(clocked());
    const right = mirrorOf(clocked());
    const random = seededRandom(9);
    const labels = ['nlp', 'cv', 'mlops', 'other'];
    for (let i = 0; i < 300; i++) {
      const size = 1 + Math.floor(random() * 3);
      const items = Array.from({ length: size }, () =>
        item(
          labels[Math.floor(random() * 4)]!,
          labels[Math.floor(random() * 4)]!,
          random() < 0.05 ? 'boom' : 'x',
        ),
      );
      const fails = random() < 0.05;
      const latency = random() * 50;
      const replica = i % 2 === 0 ? left : right;
      for (const mirror of [all, replica]) {
        if (fails) mirror.mirror(items, undefined, latency, new Error('production failed'));
        else mirror.mirror(items, production(items), latency);
        // One request per call on both sides, so the shadow's timings line up call for call.
        await mirror.drain();
      }
    }
    const stored = [left, right].map((m) => JSON.parse(JSON.stringify(m.toJSON())) as unknown);
    const merged = stored
      .map((row) => ShadowStats.fromJSON(row))
      .reduce((a, b) => a.merge(b), new ShadowStats());
    expect(merged.toJSON()).toEqual(all.toJSON());
    expect(merged.report()).toEqual(all.report());
    expect(all.report().errors.shadow).toBeGreaterThan(0);
    expect(all.report().errors.production).toBeGreaterThan(0);
  });

  it('rejects stored counters that do not add up', () => {
    const json = mirrorOf().toJSON();
    const codeOfJson = (value: unknown) => codeOf(() => ShadowStats.fromJSON(value));
    expect(codeOfJson({ ...json, compared: 1 })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    expect(codeOfJson({ ...json, version: 2 })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    expect(codeOfJson({ ...json, offered: -1 })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    expect(codeOfJson(null)).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
  });

  it('drain() resolves at once when idle and after the queue empties otherwise', async () => {
    const mirror = mirrorOf({ maxBatchSize: 1 });
    await mirror.drain();
    for (let i = 0; i < 5; i++) mirror.mirror([item('a', 'b')], [predictionOf('a')], 1);
    await mirror.drain();
    expect(mirror.report().compared).toBe(5);
  });

  it('stop() abandons the queue (discarded), lets the call in flight finish and drops later requests', async () => {
    let release: (() => void) | undefined;
    const mirror = mirrorOf({
      maxBatchSize: 1,
      predict: (items) =>
        new Promise<NamedTensors[]>((resolve) => {
          release = () => resolve(shadowAnswers(items));
        }),
    });
    for (let i = 0; i < 4; i++) mirror.mirror([item('a', 'a')], [predictionOf('a')], 1);
    while (release === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
    const stopped = mirror.stop();
    expect(mirror.mirror([item('a', 'a')], [predictionOf('a')], 1)).toBe(false);
    release();
    await stopped;
    expect(mirror.report()).toMatchObject({ offered: 5, mirrored: 4, discarded: 3, dropped: 1, compared: 1 });
  });
});
