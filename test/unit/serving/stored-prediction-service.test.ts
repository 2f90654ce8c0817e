import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { PredictionStore } from '../../../src/batch/prediction-store.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { inputFingerprint } from '../../../src/model/input-fingerprint.js';
import type { TextInput } from '../../../src/model/model.js';
import { predictionRows } from '../../../src/model/text-tensors.js';
import type { StoredPrediction } from '../../../src/ports/prediction-store.js';
import { loadTextModel } from '../../../src/registry/load-model.js';
import { ModelHost } from '../../../src/serving/model-host.js';
import { PredictionService } from '../../../src/serving/prediction-service.js';
import {
  StoredPredictionService,
  type StoredPredictionSettings,
} from '../../../src/serving/stored-prediction-service.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import { CLASSES, createTestRegistry, MODEL, PROJECTS, type TestRegistry } from '../../helpers/serving.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';

/** A text prediction as the output row stored with it (its classes in its own order). */
const rowOf = (p: { prediction: string; probabilities: Record<string, number> }) =>
  predictionRows(Object.keys(p.probabilities), [p])[0]!;

/*
 * The read-through/write-back policy without HTTP: a real model served by a ModelHost from a real
 * registry, and the prediction store on an embedded SQLite file with a manual clock.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PLANTED = { prediction: 'other', probabilities: { other: 1 } };

let reg: TestRegistry;
let dir: { path: string; remove: () => Promise<void> };
let host: ModelHost;
let predictions: PredictionService;
let sql: SqliteClient;
let store: PredictionStore;
const now = Date.parse('2025-01-15T12:00:00.000Z');
const clock = () => new Date(now);
let seq = 0;

beforeAll(async () => {
  reg = await createTestRegistry();
  dir = await makeTmpDir('ferry-stored-service-');
  host = new ModelHost(
    { aliases: (name) => reg.registry.aliases(name), load: (ref) => loadTextModel(reg.registry, ref) },
    {
      models: [MODEL],
      aliases: ['production'],
      batcher: { maxBatchSize: 8, maxQueueSize: 100 },
      pollMs: 0,
      maxOnDemand: 2,
      warmupInputs: [PROJECTS.nlp],
    },
  );
  await host.start();
  predictions = new PredictionService({ host });
  sql = new SqliteClient({ path: join(dir.path, 'predictions.db') });
  await sql.init();
  store = new PredictionStore({ sql, clock });
  await store.init();
});
afterAll(async () => {
  await host?.stop();
  await sql?.close();
  await dir?.remove();
  await reg?.close();
});

const service = (settings?: StoredPredictionSettings, s = store) =>
  new StoredPredictionService({ store: s, predictions, ...(settings ? { settings } : {}) });
const id = (name: string) => `${name}-${++seq}`;

/** A row as a batch job writes it, computed `ageMs` before the store's clock. */
async function plant(
  entityId: string,
  input: TextInput,
  opts: { ageMs?: number; version?: number } = {},
): Promise<StoredPrediction> {
  const row: StoredPrediction = {
    model: MODEL,
    entityId,
    version: opts.version ?? 1,
    inputSha256: inputFingerprint(input),
    ...PLANTED,
    outputs: rowOf(PLANTED),
    computedAt: new Date(now - (opts.ageMs ?? 0)).toISOString(),
    jobId: 'job-test',
    source: 'batch',
  };
  await store.upsertMany([row]);
  return row;
}

describe('lookup', () => {
  it('returns the stored prediction whatever its age: hit within the max age, stale beyond it', async () => {
    const young = await plant(id('young'), PROJECTS.cv, { ageMs: 2 * HOUR, version: 2 });
    expect(await service().lookup(MODEL, young.entityId)).toEqual({
      prediction: young,
      source: 'store',
      ageMs: 2 * HOUR,
      lookup: 'hit',
    });
    const old = await plant(id('old'), PROJECTS.cv, { ageMs: 8 * DAY });
    expect(await service().lookup(MODEL, old.entityId)).toMatchObject({
      prediction: old,
      source: 'store',
      ageMs: 8 * DAY,
      lookup: 'stale',
    });
  });

  it('is undefined when nothing is stored, and refuses ids that cannot be entity ids', async () => {
    expect(await service().lookup(MODEL, id('nobody'))).toBeUndefined();
    await expectFerryError(service().lookup(MODEL, 'nul\u0000id'), ErrorCode.BATCH_INVALID_ID, 400);
  });
});

describe('lookupOrPredict', () => {
  it('serves a fresh stored prediction of the same inputs from the store', async () => {
    const row = await plant(id('hit'), PROJECTS.cv, { ageMs: HOUR, version: 2 });
    const answer = await service().lookupOrPredict({
      model: MODEL,
      entityId: row.entityId,
      input: PROJECTS.cv,
      mayWriteBack: true,
    });
    expect(answer).toEqual({ prediction: row, source: 'store', ageMs: HOUR, lookup: 'hit' });
  });

  it('predicts live and writes back (source live, the store clock) when nothing is stored', async () => {
    const entityId = id('miss');
    const answer = await service().lookupOrPredict({
      model: MODEL,
      entityId,
      input: PROJECTS.nlp,
      mayWriteBack: true,
    });
    expect(answer).toMatchObject({ source: 'model', ageMs: 0, lookup: 'miss', writeBack: 'written' });
    expect(answer.readError).toBeUndefined();
    expect(answer.prediction).toMatchObject({
      model: MODEL,
      entityId,
      version: 1,
      prediction: 'natural-language-processing',
      inputSha256: inputFingerprint(PROJECTS.nlp),
      computedAt: new Date(now).toISOString(),
      jobId: null,
      source: 'live',
    });
    expect(Object.keys(answer.prediction.probabilities ?? {}).sort()).toEqual([...CLASSES]);
    expect(await store.get(MODEL, entityId)).toEqual(answer.prediction);
  });

  it('predicts again (refreshed) when the inputs changed or the stored one is too old', async () => {
    const changed = await plant(id('changed'), PROJECTS.cv, { ageMs: 60_000 });
    const a = await service().lookupOrPredict({
      model: MODEL,
      entityId: changed.entityId,
      input: PROJECTS.mlops,
      mayWriteBack: true,
    });
    expect(a).toMatchObject({ source: 'model', lookup: 'refreshed', writeBack: 'written' });
    expect((await store.get(MODEL, changed.entityId))?.inputSha256).toBe(inputFingerprint(PROJECTS.mlops));

    const settings = { maxAgeMs: DAY, policy: 'write-back' } as const;
    const old = await plant(id('old'), PROJECTS.nlp, { ageMs: DAY + 1, version: 2 });
    const b = await service(settings).lookupOrPredict({
      model: MODEL,
      entityId: old.entityId,
      input: PROJECTS.nlp,
      mayWriteBack: true,
    });
    expect(b).toMatchObject({ source: 'model', lookup: 'refreshed', writeBack: 'written' });
    expect(await store.get(MODEL, old.entityId)).toMatchObject({ version: 1, source: 'live' });
    // Exactly the max age is still served.
    const edge = await plant(id('edge'), PROJECTS.nlp, { ageMs: DAY });
    expect(
      await service(settings).lookupOrPredict({
        model: MODEL,
        entityId: edge.entityId,
        input: PROJECTS.nlp,
        mayWriteBack: true,
      }),
    ).toMatchObject({ source: 'store', lookup: 'hit', prediction: edge });
  });

  it('writes nothing for a caller not allowed to, nor under the read-only policy', async () => {
    const planted = await plant(id('anon'), PROJECTS.cv);
    const anon = await service().lookupOrPredict({
      model: MODEL,
      entityId: planted.entityId,
      input: PROJECTS.nlp,
      mayWriteBack: false,
    });
    expect(anon).toMatchObject({ source: 'model', lookup: 'refreshed', writeBack: 'skipped' });
    expect(await store.get(MODEL, planted.entityId)).toEqual(planted);

    const entityId = id('read-only');
    const ro = await service({ maxAgeMs: DAY, policy: 'read-only' }).lookupOrPredict({
      model: MODEL,
      entityId,
      input: PROJECTS.nlp,
      mayWriteBack: true,
    });
    expect(ro).toMatchObject({ source: 'model', lookup: 'miss', writeBack: 'skipped' });
    expect(await store.get(MODEL, entityId)).toBeUndefined();
  });

  it('refuses invalid ids before predicting, and a model not served with SERVING_UNKNOWN_MODEL', async () => {
    const req = { model: MODEL, input: PROJECTS.nlp, mayWriteBack: true };
    await expectFerryError(
      service().lookupOrPredict({ ...req, entityId: 'x'.repeat(513) }),
      ErrorCode.BATCH_INVALID_ID,
      400,
    );
    await expectFerryError(
      service().lookupOrPredict({ ...req, model: '', entityId: 'e' }),
      ErrorCode.BATCH_INVALID_ID,
      400,
    );
    await expectFerryError(
      service().lookupOrPredict({ ...req, model: 'not-served', entityId: id('e') }),
      ErrorCode.SERVING_UNKNOWN_MODEL,
      404,
    );
  });

  it('answers live when the store cannot be read, and keeps the answer when the write-back fails', async () => {
    // A store whose database is closed: reads and writes both fail.
    const closedSql = new SqliteClient({ path: join(dir.path, 'closed.db') });
    await closedSql.init();
    const closed = new PredictionStore({ sql: closedSql, clock });
    await closed.init();
    await closedSql.close();
    const down = await service(undefined, closed).lookupOrPredict({
      model: MODEL,
      entityId: id('down'),
      input: PROJECTS.cv,
      mayWriteBack: true,
    });
    expect(down).toMatchObject({ source: 'model', lookup: 'miss', writeBack: 'failed' });
    expect(down.readError).toBeInstanceOf(Error);
    expect(down.writeBackError).toBeInstanceOf(Error);
    expect(down.prediction.prediction).toBe('computer-vision');

    // A store that reads but refuses writes (a trigger): only the write-back fails.
    const roSql = new SqliteClient({ path: join(dir.path, 'refusing.db') });
    try {
      await roSql.init();
      const refusing = new PredictionStore({ sql: roSql, clock });
      await refusing.init();
      await roSql.execute(
        `CREATE TRIGGER refuse_writes BEFORE INSERT ON ferry_batch_predictions
         BEGIN SELECT RAISE(ABORT, 'writes refused'); END`,
      );
      const answer = await service(undefined, refusing).lookupOrPredict({
        model: MODEL,
        entityId: id('refused'),
        input: PROJECTS.cv,
        mayWriteBack: true,
      });
      expect(answer).toMatchObject({ source: 'model', lookup: 'miss', writeBack: 'failed' });
      expect(answer.readError).toBeUndefined();
      expect(String(answer.writeBackError)).toMatch(/writes refused/);
    } finally {
      await roSql.close();
    }
  });
});

describe('notFromServedVersion (the staleness gauge)', () => {
  it('counts, per served model, the stored predictions not from the version production serves', async () => {
    const before = (await service().notFromServedVersion()).get(MODEL) ?? 0;
    await plant(id('stale'), PROJECTS.cv, { version: 2 });
    await plant(id('stale'), PROJECTS.cv, { version: 3 });
    await plant(id('current'), PROJECTS.cv, { version: 1 });
    const counts = await service().notFromServedVersion();
    expect([...counts.keys()]).toEqual([MODEL]);
    expect(counts.get(MODEL)).toBe(before + 2);
  });
});
