import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelVersion } from '../../../src/registry/types.js';
import { ModelHost, type ModelSource } from '../../../src/serving/model-host.js';
import { PROJECTS, trainSmall, V1_SPEC, V2_SPEC } from '../../helpers/serving.js';

// ModelHost.loaded: the synchronous lookup of an experiment arm's version. It keeps the last
// on-demand hit aside; the least-recently-used order of on-demand versions must stay what
// version() alone would give.
describe('ModelHost.loaded', () => {
  const v1 = trainSmall(V1_SPEC).model;
  const v2 = trainSmall(V2_SPEC).model;
  let host: ModelHost;
  let loads: string[];
  let evicted: number[];

  beforeEach(async () => {
    loads = [];
    evicted = [];
    const source: ModelSource = {
      aliases: async () => ({ production: 1 }),
      load: async (ref) => {
        loads.push(ref);
        const version = Number(ref.split('/')[1]);
        return { version: { name: 'tagifai', version } as ModelVersion, model: version % 2 ? v1 : v2 };
      },
    };
    host = new ModelHost(source, {
      models: ['tagifai'],
      aliases: ['production'],
      batcher: { maxBatchSize: 8, maxQueueSize: 100 },
      pollMs: 0,
      maxOnDemand: 2,
      warmupInputs: [PROJECTS.nlp],
      onEvict: ({ version }) => evicted.push(version),
    });
    await host.start();
  });
  afterEach(async () => {
    await host.stop();
  });

  it('answers what is loaded, by alias or on demand, and nothing else (no load)', async () => {
    expect(host.loaded('tagifai', 1)?.version).toBe(1);
    expect(host.loaded('tagifai', 2)).toBeUndefined();
    expect(host.loaded('other', 1)).toBeUndefined();
    const two = await host.version('tagifai', 2);
    expect(host.loaded('tagifai', 2)).toBe(two);
    expect(host.loaded('tagifai', 2)).toBe(two);
    expect(loads).toEqual(['tagifai/1', 'tagifai/2']);
  });

  it('a hit counts as a use: the version hit last is not the one evicted', async () => {
    await host.version('tagifai', 2);
    await host.version('tagifai', 3);
    expect(host.loaded('tagifai', 2)?.version).toBe(2); // 3 is now the least recently used
    await host.version('tagifai', 4);
    expect(evicted).toEqual([3]);
    expect(host.loaded('tagifai', 3)).toBeUndefined();
    // Hits on the last-used version in a row, then on the other one: that one becomes the newest.
    expect(host.loaded('tagifai', 4)?.version).toBe(4);
    expect(host.loaded('tagifai', 4)?.version).toBe(4);
    expect(host.loaded('tagifai', 2)?.version).toBe(2);
    await host.version('tagifai', 5);
    expect(evicted).toEqual([3, 4]);
    expect(host.loaded('tagifai', 4)).toBeUndefined();
    expect(host.loaded('tagifai', 2)?.version).toBe(2);
    expect(host.loaded('tagifai', 5)?.version).toBe(5);
  });

  it('an evicted version that was the last hit is not answered any more', async () => {
    await host.version('tagifai', 2);
    expect(host.loaded('tagifai', 2)?.version).toBe(2);
    await host.version('tagifai', 3);
    await host.version('tagifai', 5); // evicts 2, the last hit before 3 and 5 were loaded
    expect(evicted).toEqual([2]);
    expect(host.loaded('tagifai', 2)).toBeUndefined();
    expect(host.loadedVersions('tagifai')).toEqual([1, 3, 5]);
  });
});
