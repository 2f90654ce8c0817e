import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProducer } from '../../src/app/open-streams.js';
import { parseEvent } from '../../src/streams/parse-event.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { PipelineStateStore } from '../../src/streams/pipeline-state-store.js';
import { commitBatch } from '../../src/streams/process-batch.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { type Click, clicks, clicksRepo, openTestEnv, type TestEnv, waitFor } from './helpers.js';
import { expectWindowsMatch } from './state-check.js';

describe('stream pipeline on the embedded log', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let env: TestEnv;
  let handle: PipelineHandle | undefined;

  beforeEach(async () => {
    dir = await makeTmpDir('ferry-stream-');
    env = await openTestEnv(dir.path, 'sqlite');
  });
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    await env.close();
    await dir.remove();
  });

  const total = () => {
    const m = handle!.metrics();
    return m.processed + m.deadLettered + m.duplicates;
  };

  it('computes every view, writes the online and offline stores, and acks everything', async () => {
    const repo = clicksRepo('clicks');
    const events = clicks(3000, { users: 25 });
    const producer = createProducer(env.stream, { keyField: 'user_id', timeField: 'at' });
    await producer.publish('clicks', events);
    handle = await runPipeline(planPipeline(repo, 'clicks'), env.deps, { batchSize: 500, heartbeatMs: 100 });
    await waitFor(() => total() >= events.length, 'every event');
    const m = handle.metrics();
    expect(m).toMatchObject({ processed: 3000, late: 0, deadLettered: 0, duplicates: 0 });

    for (const view of ['clicks_1m', 'sessions']) {
      const { windows, late } = await expectWindowsMatch(env.sql, 'clicks', repo, view, events, 4);
      expect(late.size).toBe(0);
      expect(windows).toBeGreaterThan(view === 'sessions' ? 25 : 200);
    }
    // Online: per user the latest window's values and the latest click's page.
    const users = [...new Set(events.map((e) => e.user_id))];
    const lastOf = new Map<string, Click>();
    for (const e of events) lastOf.set(e.user_id, e);
    const rows = await env.online.readMany('last_click', users);
    rows.forEach((row, i) => {
      const last = lastOf.get(users[i]!)!;
      expect(row).toMatchObject({
        eventTimeMs: last.at,
        values: { page: last.page, page_lower: last.page.toLowerCase() },
      });
    });
    const windows = await env.online.readMany('clicks_1m', users);
    windows.forEach((row, i) => {
      const last = lastOf.get(users[i]!)!;
      const start = Math.floor(last.at / 60_000) * 60_000;
      const inWindow = events.filter((e) => e.user_id === users[i] && e.at >= start && e.at < start + 60_000);
      expect(row?.eventTimeMs).toBe(last.at);
      expect(row?.values.clicks).toBe(inWindow.length);
      expect(row?.values.last_page).toBe(last.page);
    });
    const offline = await env.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM ferry_feature_values');
    expect(Number(offline[0]!.n)).toBeGreaterThan(users.length);
    await waitFor(async () => (await env.stream.status('clicks')).consumers[0]?.pending === 0, 'no lag');
    const status = await env.stream.status('clicks');
    expect(status.consumers).toEqual([expect.objectContaining({ name: 'clicks', pending: 0, inFlight: 0 })]);
  });

  it('sends events whose windows are all final to the side output, and counts the rest once', async () => {
    const repo = clicksRepo('late', { allowedLateness: 0 });
    const base = 1_700_000_000_000;
    const ev = (id: string, at: number): Click => ({ id, user_id: 'u1', at, amount: 1, page: 'home' });
    // Watermark passes the first minute, then an event of that minute arrives: late for the
    // tumbling view and for the session view (whose session ended at +40 s).
    const events = [ev('a', base + 10_000), ev('b', base + 130_000), ev('c', base + 20_000)];
    const producer = createProducer(env.stream, { keyField: 'user_id' });
    await producer.publish('late', events);
    handle = await runPipeline(planPipeline(repo, 'clicks'), env.deps, { batchSize: 1 });
    await waitFor(() => total() >= 3, 'three events');
    expect(handle.metrics()).toMatchObject({ processed: 3, late: 1, deadLettered: 0 });
    const dead = await env.stream.deadLetters('late', 10);
    // The row view took it (it is never late), so the event is not in the side output.
    expect(dead).toEqual([]);
    await expectWindowsMatch(env.sql, 'clicks', repo, 'clicks_1m', events, 4);
  });

  it('a pipeline of window views only: the late event is dead-lettered with its reason', async () => {
    const repo = clicksRepo('late2', { allowedLateness: '5s', views: ['clicks_1m', 'sessions'] });
    const base = 1_700_000_000_000;
    const ev = (id: string, at: number): Click => ({ id, user_id: 'u1', at, amount: 1, page: 'home' });
    // 'c' is 10 s behind the watermark's base + 5 s lateness = the end of its minute: late;
    // 'd' is 3 s behind: within the allowed lateness, counted.
    const events = [
      ev('a', base + 10_000),
      ev('b', base + 125_000),
      ev('c', base + 50_000),
      ev('d', base + 117_000),
    ];
    await createProducer(env.stream, { keyField: 'user_id' }).publish('late2', events);
    handle = await runPipeline(planPipeline(repo, 'clicks'), env.deps);
    await waitFor(() => total() >= 4, 'four events');
    await waitFor(async () => (await env.stream.deadLetters('late2', 10)).length === 1, 'the side output');
    expect(handle.metrics()).toMatchObject({ processed: 4, late: 1, deadLettered: 0 });
    const [dead] = await env.stream.deadLetters('late2', 10);
    expect(dead).toMatchObject({ id: 'c' });
    expect(dead!.reason).toMatch(
      /^late: the window of event time .* in view clicks_1m ended at .*; late: .* in view sessions ended at/,
    );
    const { late } = await expectWindowsMatch(env.sql, 'clicks', repo, 'clicks_1m', events, 4);
    expect([...late]).toEqual(['c']);
    const online = await env.online.readMany('clicks_1m', ['u1']);
    expect(online[0]).toMatchObject({ eventTimeMs: base + 125_000, values: { clicks: 2 } });
  });

  it('two instances (--instance 0/1 --of 2) share the partitions: every event once', async () => {
    const repo = clicksRepo('shared', { allowedLateness: '1h' });
    const events = clicks(2000, { users: 30, seed: 5 });
    await createProducer(env.stream, { keyField: 'user_id' }).publish('shared', events);
    const plan = planPipeline(repo, 'clicks');
    const a = await runPipeline(plan, env.deps, { instance: 0, of: 2, batchSize: 100 });
    const b = await runPipeline(plan, env.deps, { instance: 1, of: 2, batchSize: 100 });
    try {
      await waitFor(() => a.metrics().processed + b.metrics().processed >= events.length, 'every event');
      expect(a.partitions()).toEqual([0, 2]);
      expect(b.partitions()).toEqual([1, 3]);
      expect(a.metrics().processed).toBeGreaterThan(0);
      expect(b.metrics().processed).toBeGreaterThan(0);
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(a.metrics().processed + b.metrics().processed).toBe(events.length);
    await expectWindowsMatch(env.sql, 'clicks', repo, 'clicks_1m', events, 4);
  });

  it('sweeps windows past their retention and dedupe rows past maxAge', async () => {
    const repo = clicksRepo('sweep', { windowTtl: '2m', maxAge: '30m', allowedLateness: 0 });
    // Three hours of clicks, one every 10 s on average.
    const events = clicks(1000, { users: 3, stepMs: 10_000, seed: 9 });
    await createProducer(env.stream, { keyField: 'user_id' }).publish('sweep', events);
    handle = await runPipeline(planPipeline(repo, 'clicks'), env.deps, { batchSize: 50, sweepMs: 0 });
    await waitFor(() => total() >= events.length, 'every event');
    await handle.stop();
    const newest = new Map<number, number>();
    for (const r of await env.sql.query<{ part: number; max_event_ms: number }>(
      'SELECT part, max_event_ms FROM ferry_pipeline_partitions',
    )) {
      newest.set(Number(r.part), Number(r.max_event_ms));
    }
    const windows = await env.sql.query<{ part: number; window_end: number }>(
      "SELECT part, window_end FROM ferry_pipeline_state WHERE view = 'clicks_1m'",
    );
    expect(windows.length).toBeGreaterThan(0);
    // Retention 2 min: only windows ending within 2 min of their partition's newest event are left.
    for (const w of windows)
      expect(Number(w.window_end)).toBeGreaterThan(newest.get(Number(w.part))! - 120_000);
    const ids = await env.sql.query<{ part: number; event_time_ms: number }>(
      'SELECT part, event_time_ms FROM ferry_pipeline_events',
    );
    expect(ids.length).toBeLessThan(events.length / 2);
    for (const e of ids)
      expect(Number(e.event_time_ms)).toBeGreaterThanOrEqual(newest.get(Number(e.part))! - 1_800_000);
    // Without a predictions sink a row view keeps no state: a redelivery re-emits its own values.
    const rows = await env.sql.query("SELECT entity_key FROM ferry_pipeline_state WHERE view = 'last_click'");
    expect(rows).toHaveLength(0);
  });

  it('a crash after the commit and before the sinks: the redelivery writes the committed state', async () => {
    const repo = clicksRepo('gap', { allowedLateness: '1h' });
    const plan = planPipeline(repo, 'clicks');
    const events = clicks(300, { users: 7, seed: 13 });
    await createProducer(env.stream, { keyField: 'user_id' }).publish('gap', events);
    // What a process that dies right after its commit leaves: state committed, sinks not written,
    // nothing acked.
    const store = new PipelineStateStore(env.sql);
    await store.init();
    const consumer = await env.stream.consumer('gap', { name: 'clicks', ackWaitMs: 300 });
    const deliveries = await consumer.fetch(1000, 1000);
    expect(deliveries).toHaveLength(300);
    await commitBatch(
      store,
      plan,
      deliveries.map((d) => parseEvent(plan, d, 1 << 20, Date.now())),
      Date.now(),
    );
    await consumer.close();
    const users = [...new Set(events.map((e) => e.user_id))];
    expect((await env.online.readMany('clicks_1m', users)).every((r) => r === undefined)).toBe(true);

    handle = await runPipeline(plan, env.deps, { ackWaitMs: 300 });
    await waitFor(() => handle!.metrics().duplicates >= 300, 'the redeliveries');
    expect(handle.metrics()).toMatchObject({ processed: 0, duplicates: 300 });
    // Nothing counted twice, and the sinks now hold the committed state.
    await expectWindowsMatch(env.sql, 'clicks', repo, 'clicks_1m', events, 4);
    const last = new Map(events.map((e) => [e.user_id, e]));
    const rows = await env.online.readMany('clicks_1m', users);
    rows.forEach((row, i) => {
      const e = last.get(users[i]!)!;
      const start = Math.floor(e.at / 60_000) * 60_000;
      const n = events.filter((x) => x.user_id === users[i] && x.at >= start && x.at < start + 60_000).length;
      expect(row).toMatchObject({ eventTimeMs: e.at, values: { clicks: n, last_page: e.page } });
    });
    const pages = await env.online.readMany('last_click', users);
    expect(pages.map((r) => r?.values.page)).toEqual(users.map((u) => last.get(u)!.page));
  });
});
