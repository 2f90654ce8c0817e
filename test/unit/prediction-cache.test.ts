import { describe, expect, it } from 'vitest';
import { MemoryLruStore } from '../../src/adapters/memory/memory-lru-store.js';
import { ErrorCode, FerryError } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/hash.js';
import type { Prediction, TextInput } from '../../src/model/model.js';
import type { KeyValueStore } from '../../src/ports/key-value-store.js';
import { PredictionCache } from '../../src/serving/prediction-cache.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

const inputs: TextInput[] = [
  { title: 'Transformers', description: 'attention is all you need' },
  { title: 'YOLO', description: 'real-time object detection' },
  { title: 'Feast', description: 'feature store — ünïcödé' },
];
const predictions: Prediction[] = [
  {
    prediction: 'natural-language-processing',
    probabilities: { 'natural-language-processing': 0.9, other: 0.1 },
  },
  { prediction: 'computer-vision', probabilities: { 'computer-vision': 0.8, other: 0.2 } },
  { prediction: 'mlops', probabilities: { mlops: 0.7, other: 0.3 } },
];

/** A store whose every call fails, as a dead Redis would. */
class BrokenStore implements KeyValueStore {
  calls = 0;
  private fail(): Promise<never> {
    this.calls++;
    return Promise.reject(new FerryError(ErrorCode.KV_UNAVAILABLE, 'down'));
  }
  init = () => this.fail();
  get = () => this.fail();
  getMany = () => this.fail();
  set = () => this.fail();
  setMany = () => this.fail();
  delete = () => this.fail();
  deletePrefix = () => this.fail();
  close = () => Promise.resolve();
}

describe('PredictionCache', () => {
  it('misses, then hits after setMany, counting both', async () => {
    const cache = new PredictionCache({ store: new MemoryLruStore() });
    expect(await cache.getMany('tagifai', 1, inputs)).toEqual([undefined, undefined, undefined]);
    expect(cache.stats()).toEqual({ hits: 0, misses: 3, errors: 0 });
    await cache.setMany('tagifai', 1, inputs.slice(0, 2), predictions.slice(0, 2));
    expect(await cache.getMany('tagifai', 1, inputs)).toEqual([predictions[0], predictions[1], undefined]);
    expect([cache.hits, cache.misses, cache.errors]).toEqual([2, 4, 0]);
    expect(await cache.getMany('tagifai', 1, [])).toEqual([]);
  });

  it('keys by the resolved version: version 2 never sees version 1 entries', async () => {
    const cache = new PredictionCache({ store: new MemoryLruStore() });
    await cache.setMany('tagifai', 1, inputs, predictions);
    expect(await cache.getMany('tagifai', 2, inputs)).toEqual([undefined, undefined, undefined]);
    expect(await cache.getMany('other-model', 1, inputs)).toEqual([undefined, undefined, undefined]);
    expect(cache.key('tagifai', 1, inputs[0]!)).not.toBe(cache.key('tagifai', 2, inputs[0]!));
    expect(cache.key('tagifai', 1, inputs[0]!)).toMatch(/^pred:tagifai:1:[0-9a-f]{64}$/);
  });

  it('invalidates one version only, and version 1 is not a prefix of version 10', async () => {
    const cache = new PredictionCache({ store: new MemoryLruStore() });
    await cache.setMany('tagifai', 1, inputs, predictions);
    await cache.setMany('tagifai', 10, inputs, predictions);
    expect(await cache.invalidateVersion('tagifai', 1)).toBe(3);
    expect(await cache.getMany('tagifai', 1, inputs)).toEqual([undefined, undefined, undefined]);
    expect(await cache.getMany('tagifai', 10, inputs)).toEqual(predictions);
    expect(await cache.invalidateModel('tagifai')).toBe(3);
  });

  it('builds the key from [title, description], whatever the object key order or extra fields', () => {
    const cache = new PredictionCache({ store: new MemoryLruStore() });
    const a: TextInput = { title: 't', description: 'd' };
    const b = JSON.parse('{"description":"d","title":"t"}') as TextInput;
    const c = { description: 'd', extra: 'ignored', title: 't' } as TextInput;
    expect(cache.key('m', 1, a)).toBe(cache.key('m', 1, b));
    expect(cache.key('m', 1, a)).toBe(cache.key('m', 1, c));
    expect(cache.key('m', 1, a)).toBe(`pred:m:1:${sha256Hex('["t","d"]')}`);
    // Moving text between the fields is a different input.
    expect(cache.key('m', 1, { title: 'td', description: '' })).not.toBe(cache.key('m', 1, a));
  });

  it('passes its TTL to the store', async () => {
    let t = 0;
    const cache = new PredictionCache({ store: new MemoryLruStore({ now: () => t }), ttlMs: 1000 });
    await cache.setMany('m', 1, inputs, predictions);
    t = 999;
    expect((await cache.getMany('m', 1, inputs)).every((p) => p !== undefined)).toBe(true);
    t = 1000;
    expect(await cache.getMany('m', 1, inputs)).toEqual([undefined, undefined, undefined]);
  });

  it('stores only the Prediction fields', async () => {
    const store = new MemoryLruStore();
    const cache = new PredictionCache({ store });
    const noisy = { ...predictions[0]!, debug: { secret: 'x' } } as Prediction;
    await cache.setMany('m', 1, [inputs[0]!], [noisy]);
    expect(await cache.getMany('m', 1, [inputs[0]!])).toEqual([predictions[0]]);
  });

  it('lets predictions flow when the store throws: all misses, errors counted, nothing rejects', async () => {
    const store = new BrokenStore();
    const cache = new PredictionCache({ store });
    expect(await cache.getMany('m', 1, inputs)).toEqual([undefined, undefined, undefined]);
    await expect(cache.setMany('m', 1, inputs, predictions)).resolves.toBeUndefined();
    expect(await cache.getMany('m', 1, inputs.slice(0, 1))).toEqual([undefined]);
    expect(cache.stats()).toEqual({ hits: 0, misses: 4, errors: 3 });
    expect(store.calls).toBe(3);
  });

  it('treats an unreadable or misshapen entry as a miss and counts it', async () => {
    const store = new MemoryLruStore();
    const cache = new PredictionCache({ store });
    await store.set(cache.key('m', 1, inputs[0]!), new Uint8Array([0xff, 0xfe]));
    await store.set(cache.key('m', 1, inputs[1]!), new TextEncoder().encode('{"prediction":3}'));
    await cache.setMany('m', 1, [inputs[2]!], [predictions[2]!]);
    expect(await cache.getMany('m', 1, inputs)).toEqual([undefined, undefined, predictions[2]]);
    expect(cache.stats()).toEqual({ hits: 1, misses: 2, errors: 2 });
  });

  it('refuses mismatched inputs and predictions rather than pair them wrongly', async () => {
    const cache = new PredictionCache({ store: new MemoryLruStore() });
    await expectFerryError(cache.setMany('m', 1, inputs, predictions.slice(1)), ErrorCode.INTERNAL);
  });
});
