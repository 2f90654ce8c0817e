import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.js';
import { openFerry } from '../../../src/app/open-ferry.js';
import { publishLabeledEvents } from '../../../src/learning/online/labeled-event.js';
import { OnlineLearner } from '../../../src/learning/online/learner.js';
import { MODEL, startTestServer, type TestServer } from '../../helpers/serving.js';
import { drive, KIND_CONTEXT } from './harness.js';
import { toyExamples } from './toy.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('a running server and the online learner', () => {
  it('switches to the promoted snapshot by its alias polling, with no failed request', async () => {
    // Production: the built-in classifier (version 1) trained on the course sample; polled every 100 ms.
    server = await startTestServer({ config: { aliasPollMs: 100 } });
    const ferry = await openFerry(server.reg.config);
    const stream = new SqliteEventLog({ path: join(server.reg.home, 'streams.db'), maxPollMs: 10 });
    await stream.init();
    try {
      // Labels the course model never gives (new topics): production is wrong on every one.
      await publishLabeledEvents(
        stream,
        'feedback',
        toyExamples(0, 60).map((e, i) => ({
          id: `l-${i}`,
          event: {
            model: MODEL,
            title: e.title,
            description: e.description,
            label: e.label,
            at: '2026-12-01T00:00:00Z',
          },
        })),
      );
      const outcomes: Array<{ status: number; version: string | null; prediction?: string }> = [];
      let stop = false;
      const load = (async () => {
        while (!stop) {
          const res = await fetch(`${server!.url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ title: 'meow kitten purr', description: 'a tabby with catnip' }),
          });
          const body = (await res.json()) as { results?: Array<{ prediction: string }> };
          outcomes.push({
            status: res.status,
            version: res.headers.get('x-ferry-model-version'),
            prediction: body.results?.[0]?.prediction,
          });
        }
      })();
      const learner = new OnlineLearner(
        {
          model: MODEL,
          window: 20,
          snapshotEvery: 40,
          checkpointEvery: 10,
          fetchMax: 10,
          params: { bits: 14 },
        },
        { stream, sql: ferry.sql, registry: ferry.registry, kindContext: KIND_CONTEXT },
      );
      await learner.init();
      await drive(learner, async () => (await ferry.registry.aliases(MODEL)).production === 3);
      await learner.close();
      const end = Date.now() + 10_000;
      while (outcomes.at(-1)?.version !== '3' && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      stop = true;
      await load;
      expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
      expect(outcomes[0]!.version).toBe('1');
      expect(outcomes.at(-1)).toEqual({ status: 200, version: '3', prediction: 'cats' });
      // Once switched, it stays switched.
      const firstNew = outcomes.findIndex((o) => o.version === '3');
      expect(outcomes.slice(firstNew).every((o) => o.version === '3')).toBe(true);
    } finally {
      await stream.close();
      await ferry.close();
    }
  });
});
