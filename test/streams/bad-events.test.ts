import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventToPublish } from '../../src/ports/event-stream.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { clicksRepo, encode, openTestEnv, type TestEnv, waitFor } from './helpers.js';
import { expectWindowsMatch } from './state-check.js';

/**
 * Every kind of event a pipeline must refuse, published raw to the transport (the producer API
 * would refuse most of them first): each goes to the dead letters with its reason, nothing is
 * counted twice, and the consumer keeps going (a good event after them is processed, no lag).
 */
const NOW = Date.now();
const T0 = NOW - 3_600_000;
const good = (id: string, at: number, extra: Record<string, unknown> = {}) => ({
  id,
  user_id: 'u1',
  at,
  amount: 5,
  page: 'home',
  ...extra,
});

const NASTY: Array<[string, Uint8Array | unknown, RegExp]> = [
  ['not-json', '{"id": "x", oops', /^not JSON: /],
  ['not-utf8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /^not JSON: the bytes are not UTF-8/],
  ['array', [1, 2, 3], /^not a JSON object: a list/],
  ['string', '"just text"', /^not a JSON object: string/],
  ['null', 'null', /^not a JSON object: null/],
  ['deep', `${'['.repeat(1000)}${']'.repeat(1000)}`, /^not a JSON object: a list/],
  ['no-id', { user_id: 'u1', at: T0, amount: 1, page: 'a' }, /^no id \("id"\)/],
  ['object-id', { id: { a: 1 }, user_id: 'u1', at: T0 }, /^the id must be text or an integer/],
  ['empty-id', { id: '', user_id: 'u1', at: T0 }, /^the id is empty/],
  ['nul-id', { id: 'a\u0000b', user_id: 'u1', at: T0 }, /^the id must not contain NUL/],
  ['long-id', { id: 'x'.repeat(300), user_id: 'u1', at: T0 }, /^the id is longer than 256 bytes/],
  ['no-time', { id: 'e-no-time', user_id: 'u1', amount: 1 }, /^no event time \("at"\)/],
  ['bad-time', { id: 'e-bad-time', user_id: 'u1', at: 'yesterday' }, /^bad event time "yesterday"/],
  ['float-time', { id: 'e-float-time', user_id: 'u1', at: 1.5 }, /^bad event time/],
  ['future', good('e-future', NOW + 2 * 3_600_000), /^far-future: event time /],
  ['no-key', { id: 'e-no-key', at: T0, amount: 1 }, /^view clicks_1m: no value for the join key "user_id"/],
  [
    'object-key',
    good('e-object-key', T0, { user_id: { a: 1 } }),
    /^view clicks_1m: the join key "user_id" must be text or an integer/,
  ],
  [
    'empty-key',
    good('e-empty-key', T0, { user_id: '' }),
    /^view clicks_1m: no value for the join key "user_id"|the join key "user_id" is empty/,
  ],
  ['separator-key', good('e-sep-key', T0, { user_id: 'a\u001fb' }), /join key "user_id" contains U\+001F/],
  [
    'amount-text',
    good('e-amount-text', T0, { amount: 'lots' }),
    /^view clicks_1m: amount: "lots" is not a float64/,
  ],
  [
    'amount-bool',
    good('e-amount-bool', T0, { amount: true }),
    /^view clicks_1m: amount: true is not a float64/,
  ],
  [
    'amount-huge',
    '{"id":"e-huge","user_id":"u1","at":1,"amount":1e400,"page":"a"}',
    /amount: .*not a finite number/,
  ],
  ['page-object', good('e-page-object', T0, { page: { x: 1 } }), /^view clicks_1m: page: .* is not text/],
  [
    'too-large',
    good('e-too-large', T0, { page: 'p'.repeat(3000) }),
    /^too large: \d+ bytes, the limit is 2048/,
  ],
  [
    'ancient',
    good('e-ancient', T0 - 5 * 3_600_000),
    /^ancient: event time .* more than 3600000 ms before the newest/,
  ],
];

for (const transport of ['sqlite', 'nats'] as const) {
  describe(`nasty events (${transport})`, () => {
    let dir: { path: string; remove: () => Promise<void> };
    let env: TestEnv;
    let handle: PipelineHandle | undefined;

    beforeEach(async () => {
      dir = await makeTmpDir('ferry-stream-bad-');
      env = await openTestEnv(dir.path, transport);
    });
    afterEach(async () => {
      await handle?.stop();
      handle = undefined;
      await env.close();
      await dir.remove();
    });

    it('each goes to the dead letters with its reason; duplicates are counted once; the consumer goes on', async () => {
      const stream = env.streamName('bad');
      const repo = clicksRepo(stream, { maxAge: '1h' });
      await env.stream.ensureStream({ name: stream });
      const raw = (id: string, key: string, body: unknown): EventToPublish => ({
        id,
        key,
        data: body instanceof Uint8Array ? body : encode(body),
      });
      // A valid first event sets the watermark's base (for the ancient one).
      const first = good('first', T0);
      const events: EventToPublish[] = [raw('t-first', 'u1', first)];
      for (const [name, body] of NASTY) events.push(raw(`t-${name}`, 'u1', body));
      // The same event under a second transport id: a duplicate by its own id, counted once.
      events.push(raw('t-first-again', 'u1', first));
      // A good event after all of them: the consumer must not be stuck.
      const last = good('last', T0 + 1000, { user_id: '__proto__' });
      events.push(raw('t-last', '__proto__', last));
      await env.stream.publish(stream, events);

      handle = await runPipeline(planPipeline(repo, 'clicks'), env.deps, {
        batchSize: 7,
        maxEventBytes: 2048,
      });
      const done = () => {
        const m = handle!.metrics();
        return m.processed + m.deadLettered + m.duplicates >= events.length;
      };
      await waitFor(done, 'every event settled', 60_000);
      expect(handle.metrics()).toMatchObject({
        processed: 2,
        duplicates: 1,
        deadLettered: NASTY.length,
        late: 0,
      });
      await waitFor(
        async () => (await env.stream.deadLetters(stream, 100)).length >= NASTY.length,
        'the dead letters',
      );
      const dead = await env.stream.deadLetters(stream, 100);
      expect(dead).toHaveLength(NASTY.length);
      const byId = new Map(dead.map((d) => [d.id, d.reason]));
      for (const [name, , reason] of NASTY) {
        expect(byId.get(`t-${name}`), name).toMatch(reason);
      }
      // The good events are in the state exactly once each.
      await expectWindowsMatch(
        env.sql,
        'clicks',
        repo,
        'clicks_1m',
        [first, last],
        (await env.stream.status(stream)).partitions,
      );
      const online = await env.online.readMany('last_click', ['u1', '__proto__']);
      expect(online.map((r) => r?.values.page)).toEqual(['home', 'home']);
      await waitFor(async () => {
        const c = (await env.stream.status(stream)).consumers.find((x) => x.name === 'clicks');
        return c?.pending === 0 && c.inFlight === 0;
      }, 'no lag and nothing in flight');
    });
  });
}
