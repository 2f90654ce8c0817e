import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersion } from '../../src/registry/types.js';
import { ModelHost, type ModelSource } from '../../src/serving/model-host.js';
import {
  ADMIN_TOKEN,
  CLASSES,
  PROJECTS,
  startTestServer,
  type TestServer,
  trainSmall,
  V1_SPEC,
  V2_SPEC,
} from '../helpers/serving.js';

interface Outcome {
  loop: number;
  startedAt: number;
  status: number;
  version: string | null;
  body?: string;
}

const LOOPS = 4;
const MAX_REQUESTS = 40_000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    adminToken: ADMIN_TOKEN,
    // The prediction log writes into the registry's database while the aliases move: realistic.
    flags: { predictionLog: 'sql' },
  });
});
afterAll(() => server?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function adminMove(version: number): Promise<void> {
  const res = await fetch(`${server.url}/v1/models/tagifai/aliases/production`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ version }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  await res.json();
}

describe('zero-downtime swaps under load', () => {
  it('no request fails while production moves 1→2→1→2; after the last move only v2 answers', async () => {
    const outcomes: Outcome[] = [];
    let stop = false;
    let sent = 0;
    const loop = async (id: number) => {
      for (let i = 0; !stop && sent < MAX_REQUESTS; i++) {
        sent++;
        const startedAt = performance.now();
        // Mostly distinct inputs so the model (not only the cache) answers; every 4th is repeated.
        const title =
          i % 4 === 0 ? 'Popular project on object detection' : `Project ${id}-${i} on transformers`;
        const items =
          i % 5 === 0
            ? {
                items: Array.from({ length: 8 }, (_, k) => ({
                  title: `${title} ${k}`,
                  description: 'mlops',
                })),
              }
            : { title, description: 'An experiment with models in production.' };
        try {
          const res = await fetch(`${server.url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(items),
          });
          const text = await res.text();
          const outcome: Outcome = {
            loop: id,
            startedAt,
            status: res.status,
            version: res.headers.get('x-ferry-model-version'),
          };
          if (res.status !== 200) outcome.body = text;
          else {
            const body = JSON.parse(text) as { results: { prediction: string }[] };
            if (!body.results.every((r) => (CLASSES as readonly string[]).includes(r.prediction))) {
              outcome.status = -1;
              outcome.body = text;
            }
          }
          outcomes.push(outcome);
        } catch (e) {
          outcomes.push({ loop: id, startedAt, status: 0, version: null, body: String(e) });
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, i) => loop(i));

    await sleep(400);
    await adminMove(2);
    await sleep(500);
    await server.reg.setAlias(1);
    await server.runtime.host.refresh();
    await sleep(500);
    await adminMove(1); // no-op move: nothing to swap
    await adminMove(2);
    const finalAt = performance.now();
    await sleep(700);
    stop = true;
    await Promise.all(loops);

    const failed = outcomes.filter((o) => o.status !== 200);
    expect(failed.slice(0, 5), `${failed.length} of ${outcomes.length} requests failed`).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(100);
    const versions = new Set(outcomes.map((o) => o.version));
    expect([...versions].sort()).toEqual(['1', '2']);
    const late = outcomes.filter((o) => o.startedAt > finalAt);
    expect(late.length).toBeGreaterThan(10);
    expect(late.filter((o) => o.version !== '2')).toEqual([]);
    expect(server.runtime.host.servedAliases()).toEqual({ 'tagifai@production': 2 });
  }, 30_000);
});

describe('alias refresh races', () => {
  it('a refresh asked for after an alias move sees that move, even while an earlier refresh is running', async () => {
    // What the admin route (PUT …/aliases, POST /v1/reload) does when the alias poller happens to be
    // mid-refresh: it must not settle for the earlier run, which read the aliases before the move.
    let aliases: Record<string, number> = { production: 1 };
    let gate: Promise<void> = Promise.resolve();
    const loads: string[] = [];
    const source: ModelSource = {
      aliases: async () => ({ ...aliases }),
      load: async (ref) => {
        loads.push(ref);
        await gate;
        const version = Number(ref.split('/')[1]);
        const model = trainSmall(version === 1 ? V1_SPEC : V2_SPEC).model;
        return { version: { name: 'tagifai', version } as ModelVersion, model };
      },
    };
    const host = new ModelHost(source, {
      models: ['tagifai'],
      aliases: ['production'],
      batcher: { maxBatchSize: 8, maxQueueSize: 100 },
      pollMs: 0,
      maxOnDemand: 2,
      warmupInputs: [PROJECTS.nlp],
    });
    await host.start();
    try {
      let release: () => void = () => {};
      gate = new Promise((r) => {
        release = r;
      });
      aliases = { production: 2 };
      const first = host.refresh(); // e.g. the poller: reads production = 2, starts loading it
      while (!loads.includes('tagifai/2')) await new Promise((r) => setImmediate(r));
      aliases = { production: 1 }; // the alias moves back while that load runs
      const second = host.refresh(); // e.g. the admin route, after its move
      release();
      await Promise.all([first, second]);
      expect(host.servedAliases()).toEqual({ 'tagifai@production': 1 });
    } finally {
      await host.stop();
    }
  });
});
