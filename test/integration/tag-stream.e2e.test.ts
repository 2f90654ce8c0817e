import { randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../src/app/open-ferry.js';
import { openPipelineContext, type PipelineContext } from '../../src/app/open-streams.js';
import { FeatureRepoStore } from '../../src/features/feature-repo-store.js';
import { loadDefinitions } from '../../src/features/load-definitions.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import { deleteJetStreams } from '../helpers/nats-server.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  PROJECTS,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

/**
 * The course's application end to end, on the machine's NATS JetStream: a project-created event →
 * the pipeline cleans the text, writes the project's features to the online store and its tags, as
 * predicted by the production version, to the prediction store → GET /v1/predictions/tagifai/{id}
 * and POST /predict {"project_id"} answer within milliseconds of the event.
 */
const NATS = 'nats://127.0.0.1:4222';
const EXAMPLE = resolve(import.meta.dirname, '../../examples/tag-stream');
const STREAM = `project-created-${randomUUID().slice(0, 8)}`;

let reg: TestRegistry;
let server: TestServer;
let ctx: PipelineContext;
let pipeline: PipelineHandle;

async function call(method: string, path: string, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

beforeAll(async () => {
  reg = await createTestRegistry({ versions: [{ seed: 42 }] });
  const definitions = readFileSync(join(EXAMPLE, 'features.json'), 'utf8').replace(
    '"project-created"',
    `"${STREAM}"`,
  );
  const file = join(reg.home, 'features.json');
  writeFileSync(file, definitions);
  copyFileSync(join(EXAMPLE, 'projects.csv'), join(reg.home, 'projects.csv'));
  const ferry = await openFerry(reg.config);
  try {
    const store = new FeatureRepoStore({ sql: ferry.sql });
    await store.init();
    await store.apply(repoObjects((await loadDefinitions(file)).repo), { file });
  } finally {
    await ferry.close();
  }
  const env = { ...process.env, FERRY_STREAM_URL: NATS };
  const { repo } = await loadDefinitions(file);
  const plan = planPipeline(repo, 'tag_new_projects');
  ctx = await openPipelineContext(reg.config, plan, { info() {}, warn() {}, error() {} }, env);
  pipeline = await runPipeline(plan, ctx.deps, { batchSize: 100, fetchWaitMs: 50 });
  server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, config: { streamUrl: NATS } });
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  await ctx?.close();
  await server?.close();
  await reg?.close();
  await deleteJetStreams(NATS, [STREAM]);
});

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the tag classifier fed by project-created events (NATS JetStream)', () => {
  it('stores the predicted tags and the features of a new project moments after its event', async () => {
    const id = `proj-${randomUUID().slice(0, 8)}`;
    const published = await call('POST', `/v1/streams/${STREAM}/events`, {
      events: [{ id: `evt-${id}`, project_id: id, ...PROJECTS.cv, created_on: new Date().toISOString() }],
    });
    expect(published.status).toBe(202);
    const started = Date.now();
    const stored = await waitFor(async () => {
      const r = await call('GET', `/v1/predictions/tagifai/${id}`);
      return r.status === 200 ? r.body : undefined;
    }, 10_000);
    const elapsed = Date.now() - started;
    const live = await call('POST', '/predict', PROJECTS.cv);
    expect(stored.prediction).toBe(live.body.results[0].prediction);
    expect(stored.version).toBe(1);
    expect(elapsed).toBeLessThan(5_000);

    const byEntity = await call('POST', '/predict', { project_id: id });
    expect(byEntity.status).toBe(200);
    expect(byEntity.body.results).toEqual(live.body.results);

    const features = await call('POST', '/v1/features/online', {
      features: ['project_text:clean_text', 'project_text:tokens'],
      entities: { project_id: [id] },
    });
    const values = features.body.results[0].features;
    expect(values['project_text:clean_text'].status).toBe('PRESENT');
    expect(values['project_text:clean_text'].value).toMatch(/pedestrian detection/);
    expect(values['project_text:tokens'].value).toBeGreaterThan(3);
  });

  it('a duplicate event changes nothing, and a bad one goes to the dead letters without stopping the pipeline', async () => {
    const id = `proj-${randomUUID().slice(0, 8)}`;
    const event = { id: `evt-${id}`, project_id: id, ...PROJECTS.nlp, created_on: new Date().toISOString() };
    await call('POST', `/v1/streams/${STREAM}/events`, { events: [event] });
    const again = await call('POST', `/v1/streams/${STREAM}/events`, { events: [event] });
    expect(again.body.duplicates).toBe(1);
    // Straight to the transport, past the HTTP checks: the processor must cope on its own.
    await ctx.deps.stream.publish(STREAM, [
      { id: `bad-${id}`, key: id, data: new TextEncoder().encode('{"not": "an event"') },
    ]);
    const next = `proj-${randomUUID().slice(0, 8)}`;
    await call('POST', `/v1/streams/${STREAM}/events`, {
      events: [
        { id: `evt-${next}`, project_id: next, ...PROJECTS.mlops, created_on: new Date().toISOString() },
      ],
    });
    await waitFor(
      async () => ((await call('GET', `/v1/predictions/tagifai/${next}`)).status === 200 ? true : undefined),
      10_000,
    );
    expect((await call('GET', `/v1/predictions/tagifai/${id}`)).status).toBe(200);
    const dead = await waitFor(async () => {
      const letters = await ctx.deps.stream.deadLetters(STREAM, 10);
      return letters.find((d) => d.id === `bad-${id}`);
    }, 10_000);
    expect(dead.reason).toMatch(/JSON/i);
  });
});
