import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FerryContext, openFerry } from '../../../src/app/open-ferry.js';
import { openProfileStore } from '../../../src/app/open-monitoring.js';
import { openRetrain } from '../../../src/app/open-retrain.js';
import { type FerryConfig, loadConfig } from '../../../src/core/config.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { ExperimentStore } from '../../../src/experiments/experiment-store.js';
import { type RetrainDeps, type RetrainRequest, retrain } from '../../../src/learning/retrain/retrain.js';
import { ABANDONED } from '../../../src/learning/retrain/retrain-store.js';
import type { FeedbackStore } from '../../../src/monitoring/feedback/feedback-store.js';
import { kindContextOf } from '../../../src/registry/load-model.js';
import { registerArtifact } from '../../../src/registry/register-artifact.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import { sampleDataset } from '../../helpers/serving.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { labeledText, MemoryFeedbackSource } from './memory-feedback.js';

const MODEL = 'tagifai';
const SAMPLE = readFileSync(SAMPLE_DATASET_PATH, 'utf8');
const GATE = { minF1: 0.5, classMargin: 0.05, minEvalRows: 20 };

let home: { path: string; remove(): void };
let config: FerryConfig;
let ctx: FerryContext;
let feedback: MemoryFeedbackSource;
let deps: RetrainDeps;

function request(over: Partial<RetrainRequest> = {}): RetrainRequest {
  return {
    model: MODEL,
    trigger: 'manual',
    datasetLoc: SAMPLE_DATASET_PATH,
    policy: 'staging',
    gate: GATE,
    seed: 42,
    ...over,
  };
}

/** A CSV in the test's directory: the sample's header and the rows `keep` selects. */
function csv(name: string, keep: (line: string, i: number) => boolean): string {
  const [header, ...lines] = SAMPLE.trimEnd().split('\n');
  const path = join(home.path, name);
  writeFileSync(path, `${[header, ...lines.filter(keep)].join('\n')}\n`);
  return path;
}

beforeEach(async () => {
  home = tmpDir('ferry-retrain-');
  config = loadConfig({}, { home: home.path });
  ctx = await openFerry(config);
  feedback = new MemoryFeedbackSource();
  deps = await openRetrain(ctx, config, feedback);
});

afterEach(async () => {
  await ctx.close();
  home.remove();
});

describe('retrain (SQLite registry)', () => {
  it('first run with no production: passes and sets staging (policy staging); production stays unset', async () => {
    const r = await retrain(deps, request());
    expect(r.status).toBe('passed');
    expect(r.production).toBeNull();
    expect(r.outcome).toEqual({ policy: 'staging', alias: 'staging', version: 1 });
    expect(await ctx.registry.aliases(MODEL)).toEqual({ staging: 1 });
    expect(r.dataset).toMatchObject({ rows: 160, evalRows: 32, trainRows: 128 });
    const [run] = await deps.store.history(MODEL);
    expect(run).toMatchObject({
      status: 'passed',
      candidateVersion: 1,
      productionVersion: null,
      trigger: 'manual',
    });
    expect((run!.decision as { figures: { evalRows: number } }).figures.evalRows).toBe(32);
    // The candidate has its reference profile, as `ferry train`'s versions do: its evaluation rows.
    const profile = await (await openProfileStore(ctx)).get(MODEL, 1);
    expect(profile?.rows).toBe(32);
    expect(Object.keys(profile?.features ?? {})).toEqual(
      expect.arrayContaining(['text_length', 'token_count']),
    );
  });

  it('policy promote with no production sets production with the gate figures as the reason', async () => {
    const r = await retrain(deps, request({ policy: 'promote' }));
    expect(r.outcome).toEqual({ policy: 'promote', alias: 'production', version: 1 });
    const [move] = await ctx.registry.aliasHistory(MODEL, 'production');
    expect(move?.reason).toMatch(/^retrain \(manual\) passed the gate: weighted F1 0\.\d{4} on 32 rows$/);
  });

  it('a retrain on the same data as production compares like with like (production refit) and passes', async () => {
    await retrain(deps, request({ policy: 'promote' }));
    const r = await retrain(deps, request({ policy: 'promote' }));
    expect(r.production?.scoredAs).toBe('refit');
    expect(r.decision.figures.candidateF1).toBeCloseTo(r.decision.figures.productionF1!, 12);
    expect(r.status).toBe('passed');
    expect(await ctx.registry.aliases(MODEL)).toEqual({ production: 2 });
  });

  it('a worse candidate is refused: production untouched, the failing class and figures recorded', async () => {
    await retrain(deps, request({ policy: 'promote' }));
    // The new dataset keeps 3 of the 40 mlops rows: the candidate barely knows mlops.
    let mlops = 0;
    const starved = csv('starved.csv', (line) => !line.trimEnd().endsWith(',mlops') || mlops++ < 3);
    const r = await retrain(
      deps,
      request({ policy: 'promote', datasetLoc: starved, gate: { ...GATE, minEvalRows: 10 } }),
    );
    expect(r.production?.scoredAs).toBe('served');
    expect(r.status).toBe('refused');
    expect(r.decision.failedRule).toBe('class_margin');
    expect(r.decision.figures.worstClass!.drop).toBeGreaterThan(GATE.classMargin);
    expect(r.outcome).toBeNull();
    expect(await ctx.registry.aliases(MODEL)).toEqual({ production: 1 });
    // Registered for inspection, tagged with the refusal, never aliased.
    const v2 = await ctx.registry.resolve(`${MODEL}/2`);
    expect(v2.tags.retrain_gate).toBe('refused (class_margin)');
    const [run] = await deps.store.history(MODEL);
    expect(run).toMatchObject({
      status: 'refused',
      candidateVersion: 2,
      productionVersion: 1,
      outcome: null,
    });
  });

  it('a 6-row dataset is never promoted', async () => {
    const six = csv('six.csv', (_l, i) => i % 40 < 2 && i < 120);
    expect(readFileSync(six, 'utf8').trim().split('\n')).toHaveLength(7);
    const r = await retrain(
      deps,
      request({ policy: 'promote', datasetLoc: six, gate: { ...GATE, minEvalRows: 20 } }),
    );
    expect(r.status).toBe('refused');
    expect(r.decision.failedRule).toBe('min_eval_rows');
    expect(await ctx.registry.aliases(MODEL)).toEqual({});
  });

  it('bad data: the data error, nothing registered, the run recorded failed with the code', async () => {
    const bad = join(home.path, 'bad.csv');
    writeFileSync(bad, 'id,title,description\n1,a,b\n');
    await expectFerryError(
      retrain(deps, request({ datasetLoc: bad, policy: 'promote' })),
      ErrorCode.DATA_MISSING_COLUMN,
    );
    await expectFerryError(ctx.registry.list(MODEL), ErrorCode.REGISTRY_NOT_FOUND);
    const [run] = await deps.store.history(MODEL);
    expect(run).toMatchObject({
      status: 'failed',
      errorCode: 'FERRY_DATA_MISSING_COLUMN',
      candidateVersion: null,
    });
    // The lease was released: the next run goes ahead.
    expect((await retrain(deps, request())).status).toBe('passed');
  });

  it('a held lease: FERRY_RETRAIN_BUSY (409), nothing registered', async () => {
    await deps.store.start({ model: MODEL, trigger: 'manual', policy: 'staging', leaseMs: 60_000 });
    const e = await expectFerryError(retrain(deps, request()), ErrorCode.RETRAIN_BUSY, 409);
    expect(e.details.run).toBeTypeOf('string');
    await expectFerryError(ctx.registry.list(MODEL), ErrorCode.REGISTRY_NOT_FOUND);
  });

  it('two concurrent retrains of one model from two connections (replicas): one runs, the other is busy', async () => {
    const other = await openFerry(config);
    try {
      const otherDeps = await openRetrain(other, config, feedback);
      const results = await Promise.allSettled([retrain(deps, request()), retrain(otherDeps, request())]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const busy = results.filter(
        (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === ErrorCode.RETRAIN_BUSY,
      );
      expect([ok.length, busy.length]).toEqual([1, 1]);
      expect((await ctx.registry.list(MODEL)).map((v) => v.version)).toEqual([1]);
    } finally {
      await other.close();
    }
  });

  it('a crash mid-run leaves it running with an expired lease; the next run marks it failed (abandoned)', async () => {
    const crashed = await deps.store.start({
      model: MODEL,
      trigger: 'schedule',
      policy: 'staging',
      leaseMs: 1,
    });
    await new Promise((r) => setTimeout(r, 5));
    expect((await deps.store.history(MODEL))[0]).toMatchObject({ id: crashed, status: 'running' });
    const r = await retrain(deps, request());
    expect(r.status).toBe('passed');
    const runs = await deps.store.history(MODEL);
    expect(runs.find((x) => x.id === crashed)).toMatchObject({ status: 'failed', errorMessage: ABANDONED });
  });

  it('labeled feedback joins the data: new rows added, duplicates of the dataset and unknown labels left out', async () => {
    const datasetRow = sampleDataset().rows[0]!;
    feedback.add(
      MODEL,
      '2026-01-02T00:00:00.000Z',
      labeledText(
        1,
        {
          title: 'Diffusion models for image synthesis',
          description: 'Denoising generative models for pictures.',
        },
        'computer-vision',
      ),
    );
    feedback.add(
      MODEL,
      '2026-01-02T00:00:01.000Z',
      labeledText(
        2,
        { title: 'Feature stores in production', description: 'Serving features online and offline.' },
        'mlops',
      ),
    );
    // The same text again: the newest label wins, one row.
    feedback.add(
      MODEL,
      '2026-01-02T00:00:02.000Z',
      labeledText(
        3,
        { title: 'Feature stores  in production', description: 'Serving features online and offline.' },
        'mlops',
      ),
    );
    // A dataset row's text with another label: the dataset's row is kept.
    feedback.add(
      MODEL,
      '2026-01-02T00:00:03.000Z',
      labeledText(4, { title: datasetRow.title.toUpperCase(), description: datasetRow.description }, 'other'),
    );
    feedback.add(
      MODEL,
      '2026-01-02T00:00:04.000Z',
      labeledText(5, { title: 'Quantum annealing', description: 'Qubits.' }, 'quantum'),
    );
    const r = await retrain(deps, request());
    expect(r.feedback).toMatchObject({
      read: 5,
      added: 2,
      repeated: 1,
      duplicatesOfDataset: 1,
      conflictsWithDataset: 1,
      unknownLabels: { quantum: 1 },
      notText: 0,
    });
    expect(r.dataset.rows).toBe(162);
    expect(r.dataset.source).toBe(`${SAMPLE_DATASET_PATH} + 2 labeled feedback rows`);
    const v1 = await ctx.registry.resolve(`${MODEL}/1`);
    expect(v1.dataset.feedbackRows).toBe(2);
  });

  it('policy canary with production: a running canary experiment of production vs the candidate', async () => {
    await retrain(deps, request({ policy: 'promote' }));
    const r = await retrain(deps, request({ policy: 'canary' }));
    expect(r.outcome).toEqual({ policy: 'canary', experiment: 'retrain-tagifai-v2', version: 2 });
    const store = new ExperimentStore({ sql: ctx.sql });
    const [e] = await store.list({ model: MODEL });
    expect(e).toMatchObject({ name: 'retrain-tagifai-v2', type: 'canary', status: 'running' });
    expect(e!.arms).toEqual([
      expect.objectContaining({ name: 'production', alias: 'production' }),
      expect.objectContaining({ name: 'canary', version: 2 }),
    ]);
    // Production is not moved by the policy: the canary decides.
    expect(await ctx.registry.aliases(MODEL)).toEqual({ production: 1 });
  });

  it('a production version of another kind: FERRY_RETRAIN_UNSUPPORTED, nothing registered, the run failed', async () => {
    const onnx = readFileSync('test/fixtures/onnx/mlp.onnx');
    const v = await registerArtifact(ctx.registry, MODEL, onnx, { kind: 'onnx' }, kindContextOf(config));
    await ctx.registry.setAlias(MODEL, 'production', v.version);
    const e = await expectFerryError(
      retrain(deps, request({ policy: 'promote' })),
      ErrorCode.RETRAIN_UNSUPPORTED,
      400,
    );
    expect(e.message).toMatch(/tagifai\/1 is a onnx model/);
    expect((await ctx.registry.list(MODEL)).map((x) => x.version)).toEqual([1]);
    expect((await deps.store.history(MODEL))[0]).toMatchObject({
      status: 'failed',
      errorCode: 'FERRY_RETRAIN_UNSUPPORTED',
      productionVersion: 1,
    });
  });

  it('policy canary without production: staging, and the record says why', async () => {
    const r = await retrain(deps, request({ policy: 'canary' }));
    expect(r.outcome).toMatchObject({
      policy: 'staging',
      alias: 'staging',
      note: expect.stringMatching(/no production/),
    });
  });
});

describe('retrain through the SQL feedback store (POST /v1/feedback labels joined to the prediction log)', () => {
  it('labels of logged predictions become training rows; unmatched labels are not', async () => {
    const h = tmpDir('ferry-retrain-fb-');
    const cfg = loadConfig({}, { home: h.path });
    const c = await openFerry(cfg);
    try {
      const d = await openRetrain(c, cfg);
      const log = new SqlPredictionLog(c.sql);
      await log.init();
      const items = [
        {
          title: 'Segment anything in satellite images',
          description: 'Masks for every object in aerial photos.',
        },
        {
          title: 'Drift detection for deployed models',
          description: 'Alerts when live inputs move away from training data.',
        },
      ];
      await log.write([
        {
          requestId: 'r1',
          at: '2026-12-01T10:00:00.000Z',
          model: MODEL,
          version: 1,
          latencyMs: 1,
          items: items.map((i) => ({
            ...i,
            prediction: 'other',
            probabilities: { other: 0.9 },
            source: 'model' as const,
          })),
          itemCount: 2,
        },
      ]);
      const store = d.feedback as FeedbackStore;
      const recorded = await store.record(MODEL, [
        { requestId: 'r1', item: 0, label: 'computer-vision' },
        { requestId: 'r1', item: 1, label: 'mlops' },
        { requestId: 'r-not-logged', item: 0, label: 'mlops' },
      ]);
      expect(recorded).toMatchObject({ stored: 3, unmatched: 1 });
      const r = await retrain(d, request());
      expect(r.feedback).toMatchObject({ read: 2, added: 2 });
      expect(r.dataset.rows).toBe(162);
    } finally {
      await c.close();
      h.remove();
    }
  });
});
