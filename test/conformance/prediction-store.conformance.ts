import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_ENTITY_ID_LENGTH,
  PREDICTION_STORE_MIGRATIONS,
  PredictionStore,
  type StoredPrediction,
  UPSERT_ROWS_PER_STATEMENT,
} from '../../src/batch/prediction-store.js';
import { UNNEST_ROWS_PER_STATEMENT } from '../../src/batch/prediction-upsert.js';
import { ErrorCode } from '../../src/core/errors.js';
import { defineSchema, migrate, schemaStatus } from '../../src/core/migrations.js';
import { inputFingerprint } from '../../src/model/input-fingerprint.js';
import { predictionRows } from '../../src/model/text-tensors.js';
import type { SqlClient, SqlExecutor } from '../../src/ports/sql.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

/** A text prediction as the output row stored with it (its classes in its own order). */
const rowOf = (p: { prediction: string; probabilities: Record<string, number> }) =>
  predictionRows(Object.keys(p.probabilities), [p])[0]!;

/** One empty database; `openSql` may be called more than once (each a new connection to it). */
export interface PredictionStoreHarness {
  openSql(): Promise<SqlClient>;
  dispose(): Promise<void>;
}

const MODEL = 'tagifai';
const T0 = Date.parse('2025-03-01T12:00:00.000Z');

/** Ids that break string-built SQL, LIKE patterns, placeholders, encodings or trimming. */
export const SQL_SPECIAL_IDS: readonly string[] = [
  "'",
  "''",
  '"',
  '`',
  "o'brien",
  "'; DROP TABLE ferry_batch_predictions; --",
  'Robert"); DELETE FROM ferry_batch_predictions; --',
  '%',
  '_',
  'a%',
  'a_c',
  'abc',
  'ABC',
  ';',
  '\\',
  "\\'",
  '\\%',
  '$1',
  '$2 $1',
  '?',
  '?1',
  ':id',
  '@p0',
  '/* comment */',
  '-- comment',
  ' leading space',
  'trailing space ',
  ' ',
  'tab\there',
  'new\nline',
  'cr\r\nlf',
  'naïve café',
  'nai\u0308ve', // decomposed: a different id from the precomposed one
  '日本語のID',
  '🚀 rocket',
  '.',
  '..',
  '../../etc/passwd',
  'Ω≈ç√∫',
  '\u200b', // zero-width space
  'x'.repeat(MAX_ENTITY_ID_LENGTH),
  '🚀'.repeat(MAX_ENTITY_ID_LENGTH), // 512 code points, 1024 UTF-16 units
  'null',
  'NULL',
  'undefined',
  '0',
  '-1',
  '1e3',
];

export function storedPrediction(
  entityId: string,
  overrides: Partial<StoredPrediction> = {},
): StoredPrediction {
  const row = {
    model: MODEL,
    entityId,
    version: 1,
    inputSha256: inputFingerprint({ title: `title of ${entityId}`, description: 'a description' }),
    prediction: 'mlops',
    probabilities: {
      'computer-vision': 0.125,
      mlops: 0.625,
      'natural-language-processing': 0.125,
      other: 0.125,
    },
    computedAt: new Date(T0).toISOString(),
    jobId: 'job-1',
    ...overrides,
    // What the store reads back: the source given, else the one the job id implies.
    source: overrides.source ?? (overrides.jobId === null ? 'live' : 'batch'),
  };
  // A text row's outputs are what the store derives from its label and probabilities.
  return {
    ...row,
    outputs:
      overrides.outputs ??
      rowOf({ prediction: row.prediction ?? '', probabilities: row.probabilities ?? {} }),
  };
}

/** A row of a model other than the text classifier: outputs only, no label or probabilities. */
function tensorPrediction(entityId: string, overrides: Partial<StoredPrediction> = {}): StoredPrediction {
  return {
    model: 'linear',
    entityId,
    version: 1,
    inputSha256: 'f'.repeat(64),
    outputs: {
      y: { datatype: 'FP32', shape: [2, 2], data: [0.5, -1.25, 3, 1e-7] },
      label: { datatype: 'BYTES', shape: [], data: ['ok'] },
      flags: { datatype: 'BOOL', shape: [3], data: [true, false, true] },
      count: { datatype: 'INT64', shape: [1], data: [Number.MAX_SAFE_INTEGER] },
    },
    computedAt: new Date(T0).toISOString(),
    jobId: 'job-t',
    source: 'batch',
    ...overrides,
  };
}

/** The client, except that the nth execute inside a transaction fails (a database error mid-write). */
function failNthExecute(sql: SqlClient, n: number): SqlClient {
  let executes = 0;
  const wrap = (tx: SqlExecutor): SqlExecutor => ({
    query: (text, params) => tx.query(text, params),
    execute: (text, params) => {
      executes += 1;
      return executes === n ? Promise.reject(new Error('injected failure')) : tx.execute(text, params);
    },
  });
  return {
    dialect: sql.dialect,
    init: () => sql.init(),
    close: () => sql.close(),
    query: (text, params) => sql.query(text, params),
    execute: (text, params) => sql.execute(text, params),
    transaction: (fn, opts) => sql.transaction((tx) => fn(wrap(tx)), opts),
  };
}

/** A manual clock: `set` moves it. */
function manualClock(start = T0) {
  let now = start;
  return { clock: () => new Date(now), set: (ms: number) => (now = ms) };
}

export function predictionStoreConformance(
  name: string,
  makeHarness: () => Promise<PredictionStoreHarness>,
): void {
  describe(`PredictionStore conformance: ${name}`, () => {
    let harness: PredictionStoreHarness;
    let clients: SqlClient[];
    let sql: SqlClient;
    let store: PredictionStore;
    let time: ReturnType<typeof manualClock>;

    const openStore = async (): Promise<{ sql: SqlClient; store: PredictionStore }> => {
      const client = await harness.openSql();
      clients.push(client);
      await client.init();
      const s = new PredictionStore({ sql: client, clock: () => time.clock() });
      await s.init();
      return { sql: client, store: s };
    };

    beforeEach(async () => {
      harness = await makeHarness();
      clients = [];
      time = manualClock();
      ({ sql, store } = await openStore());
    });

    afterEach(async () => {
      for (const c of clients) await c.close().catch(() => {});
      await harness.dispose();
    });

    it('does no I/O in the constructor and init is idempotent, keeping what was written', async () => {
      const unopened = await harness.openSql();
      expect(() => new PredictionStore({ sql: unopened })).not.toThrow();
      await unopened.close();
      await store.upsertMany([storedPrediction('e1')]);
      await store.init();
      const again = await openStore();
      await again.store.init();
      expect(await store.count(MODEL)).toBe(1);
    });

    it('reads back what was upserted (get, getMany in order with duplicates and misses)', async () => {
      const a = storedPrediction('a');
      const b = storedPrediction('b', {
        version: 3,
        prediction: 'computer-vision',
        probabilities: { 'computer-vision': 0.9, other: 0.1 },
        jobId: null,
      });
      const c = storedPrediction('c');
      delete c.jobId;
      delete c.source;
      await store.upsertMany([a, b, c]);
      expect(await store.get(MODEL, 'a')).toEqual(a);
      expect(await store.get(MODEL, 'b')).toEqual(b);
      expect(await store.get(MODEL, 'c')).toEqual({ ...c, jobId: null, source: 'live' });
      expect(await store.get(MODEL, 'missing')).toBeUndefined();
      expect(await store.get('other-model', 'a')).toBeUndefined();
      const many = await store.getMany(MODEL, ['b', 'missing', 'a', 'b']);
      expect(many).toEqual([b, undefined, a, b]);
      expect(await store.getMany(MODEL, [])).toEqual([]);
      const typed = (await store.get(MODEL, 'b'))!;
      expect(typeof typed.version).toBe('number');
      expect(typeof typed.probabilities?.['computer-vision']).toBe('number');
    });

    it("records each row's source; rows from before the source column read it from their job id", async () => {
      const batch = storedPrediction('s-batch');
      const live = storedPrediction('s-live', { jobId: null, source: 'live' });
      await store.upsertMany([batch, live]);
      expect((await store.getMany(MODEL, ['s-batch', 's-live'])).map((p) => p?.source)).toEqual([
        'batch',
        'live',
      ]);
      // A live write-back replaces a batch row's source, and the batch rerun replaces it back.
      await store.upsertMany([{ ...batch, jobId: null, source: 'live' }]);
      expect((await store.get(MODEL, 's-batch'))?.source).toBe('live');
      await store.upsertMany([batch]);
      expect((await store.get(MODEL, 's-batch'))?.source).toBe('batch');
      // Rows written by Ferry 0.1.0 have no source (NULL): it is implied by job_id.
      await sql.execute('UPDATE ferry_batch_predictions SET source = NULL WHERE model = $1', [MODEL]);
      expect((await store.getMany(MODEL, ['s-batch', 's-live'])).map((p) => p?.source)).toEqual([
        'batch',
        'live',
      ]);
      await expectFerryError(
        store.upsertMany([{ ...batch, source: 'other' as never }]),
        ErrorCode.BATCH_INVALID_PREDICTION,
      );
    });

    it('keeps the outputs of any model kind; text rows keep label and probabilities and derive outputs', async () => {
      const t = tensorPrediction('t1');
      await store.upsertMany([t, storedPrediction('text-1')]);
      const back = await store.get('linear', 't1');
      expect(back).toEqual(t);
      expect(back).not.toHaveProperty('prediction');
      expect(back).not.toHaveProperty('probabilities');
      expect((await store.getMany('linear', ['t1', 'nope']))[0]).toEqual(t);
      const text = await store.get(MODEL, 'text-1');
      expect(text?.outputs).toEqual({
        label: { datatype: 'BYTES', shape: [], data: ['mlops'] },
        probabilities: { datatype: 'FP32', shape: [4], data: [0.125, 0.625, 0.125, 0.125] },
      });
      // An entity moving from one form to the other keeps nothing of the old one.
      await store.upsertMany([tensorPrediction('text-1', { model: MODEL })]);
      expect(await store.get(MODEL, 'text-1')).toEqual(tensorPrediction('text-1', { model: MODEL }));
      await store.upsertMany([storedPrediction('text-1')]);
      expect(await store.get(MODEL, 'text-1')).toEqual(storedPrediction('text-1'));
    });

    it('rows written before migration 3 read with outputs derived from their label and probabilities', async () => {
      // A database at schema 2 (Ferry before outputs), with a row written then.
      const fresh = await makeHarness();
      const legacyClient = await fresh.openSql();
      try {
        await legacyClient.init();
        await migrate(
          legacyClient,
          defineSchema(
            PREDICTION_STORE_MIGRATIONS.store,
            PREDICTION_STORE_MIGRATIONS.migrations.filter((m) => m.version <= 2),
          ),
        );
        await legacyClient.execute(
          `INSERT INTO ferry_batch_predictions (model, entity_id, version, input_sha256, prediction, probabilities, computed_at, job_id, source)
           VALUES ($1, $2, 1, $3, 'other', $4, $5, 'old-job', 'batch')`,
          [
            MODEL,
            'legacy',
            'a'.repeat(64),
            JSON.stringify({ mlops: 0.25, other: 0.75 }),
            new Date(T0).toISOString(),
          ],
        );
        const upgraded = new PredictionStore({ sql: legacyClient });
        await upgraded.init();
        const [status] = await schemaStatus(legacyClient, [PREDICTION_STORE_MIGRATIONS]);
        expect(status).toMatchObject({ current: 3, latest: 3 });
        expect(await upgraded.get(MODEL, 'legacy')).toEqual({
          model: MODEL,
          entityId: 'legacy',
          version: 1,
          inputSha256: 'a'.repeat(64),
          prediction: 'other',
          probabilities: { mlops: 0.25, other: 0.75 },
          outputs: {
            label: { datatype: 'BYTES', shape: [], data: ['other'] },
            probabilities: { datatype: 'FP32', shape: [2], data: [0.25, 0.75] },
          },
          computedAt: new Date(T0).toISOString(),
          jobId: 'old-job',
          source: 'batch',
        });
        // and the upgraded table takes rows of any kind
        await upgraded.upsertMany([tensorPrediction('new')]);
        expect(await upgraded.get('linear', 'new')).toEqual(tensorPrediction('new'));
      } finally {
        await legacyClient.close();
        await fresh.dispose();
      }
    });

    it('refuses malformed outputs and a label without probabilities', async () => {
      for (const overrides of [
        { outputs: { y: { datatype: 'FP32', shape: [2], data: [1] } } },
        { outputs: { y: { datatype: 'FP32', shape: [1], data: [Number.NaN] } } },
        { outputs: { y: { datatype: 'FP32', shape: [-1], data: [] } } },
        { outputs: [] as never },
        { prediction: 'x' },
      ] as Partial<StoredPrediction>[]) {
        await expectFerryError(
          store.upsertMany([tensorPrediction('bad', overrides)]),
          ErrorCode.BATCH_INVALID_PREDICTION,
          400,
        );
      }
      expect(await store.count('linear')).toBe(0);
    });

    it('running the same upsert twice leaves one row per entity and model', async () => {
      const rows = Array.from({ length: 10 }, (_, i) => storedPrediction(`e${i}`));
      await store.upsertMany(rows);
      await store.upsertMany(rows);
      expect(await store.count(MODEL)).toBe(10);
      expect(await store.getMany(MODEL, ['e0', 'e9'])).toEqual([rows[0], rows[9]]);
    });

    it("lists a model's rows in id order, page by page, without another model's", async () => {
      const ids = ['b', 'a', 'd', 'c', 'e'];
      await store.upsertMany(ids.map((id) => storedPrediction(id)));
      await store.upsertMany([{ ...storedPrediction('a'), model: 'other' }]);
      const first = await store.list(MODEL, { limit: 2 });
      expect(first.map((r) => r.entityId)).toEqual(['a', 'b']);
      const rest = await store.list(MODEL, { after: 'b', limit: 10 });
      expect(rest.map((r) => r.entityId)).toEqual(['c', 'd', 'e']);
      expect(await store.list(MODEL, { after: 'e', limit: 10 })).toEqual([]);
      expect(rest[0]).toEqual(await store.get(MODEL, 'c'));
    });

    it('replaces every column on conflict (last writer wins)', async () => {
      await store.upsertMany([storedPrediction('e1')]);
      const newer = storedPrediction('e1', {
        version: 2,
        inputSha256: inputFingerprint({ title: 'new title', description: '' }),
        prediction: 'other',
        probabilities: { other: 1 },
        computedAt: new Date(T0 + 60_000).toISOString(),
        jobId: null,
      });
      await store.upsertMany([newer]);
      expect(await store.get(MODEL, 'e1')).toEqual(newer);
      // An older computedAt still replaces: the store does not arbitrate between writers.
      const older = storedPrediction('e1', { computedAt: new Date(T0 - 60_000).toISOString() });
      await store.upsertMany([older]);
      expect(await store.get(MODEL, 'e1')).toEqual(older);
      expect(await store.count(MODEL)).toBe(1);
    });

    it('keeps the last row when one call holds the same entity twice', async () => {
      const first = storedPrediction('dup', { prediction: 'mlops' });
      const last = storedPrediction('dup', { prediction: 'other', version: 2 });
      await store.upsertMany([first, storedPrediction('x'), last]);
      expect(await store.get(MODEL, 'dup')).toEqual(last);
      expect(await store.count(MODEL)).toBe(2);
    });

    it('keeps the same entity id of different models apart', async () => {
      await store.upsertMany([
        storedPrediction('e1'),
        storedPrediction('e1', { model: 'other-model', prediction: 'other' }),
      ]);
      expect((await store.get(MODEL, 'e1'))?.prediction).toBe('mlops');
      expect((await store.get('other-model', 'e1'))?.prediction).toBe('other');
      expect(await store.count(MODEL)).toBe(1);
      expect(await store.count('other-model')).toBe(1);
    });

    it('stores and looks up ids with SQL-special characters exactly', async () => {
      const rows = SQL_SPECIAL_IDS.map((id, i) =>
        storedPrediction(id, { version: i + 1, inputSha256: `sha-${i}` }),
      );
      await store.upsertMany(rows);
      expect(await store.count(MODEL)).toBe(SQL_SPECIAL_IDS.length);
      for (const row of rows) {
        const back = await store.get(MODEL, row.entityId);
        expect(back, JSON.stringify(row.entityId)).toEqual(row);
      }
      expect(await store.getMany(MODEL, [...SQL_SPECIAL_IDS].reverse())).toEqual([...rows].reverse());
      // Nothing is matched as a pattern, trimmed, case-folded or normalised.
      for (const near of ['a', 'ab', 'Abc', 'leading space', 'trailing space', 'naive café', '%%']) {
        expect(await store.get(MODEL, near), near).toBeUndefined();
      }
      // The table survived its would-be injections.
      const [all] = await sql.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM ferry_batch_predictions');
      expect(Number(all?.n)).toBe(SQL_SPECIAL_IDS.length);
    });

    it('refuses invalid ids with FERRY_BATCH_INVALID_ID, writing nothing of the batch', async () => {
      const bad = [
        '',
        'x'.repeat(MAX_ENTITY_ID_LENGTH + 1),
        '🚀'.repeat(MAX_ENTITY_ID_LENGTH + 1),
        'nul\u0000byte',
        'lone \ud800 surrogate',
        'lone \udc00 low',
      ];
      for (const id of bad) {
        await expectFerryError(
          store.upsertMany([storedPrediction('good'), storedPrediction(id)]),
          ErrorCode.BATCH_INVALID_ID,
          400,
        );
        await expectFerryError(store.get(MODEL, id), ErrorCode.BATCH_INVALID_ID, 400);
        await expectFerryError(store.getMany(MODEL, ['good', id]), ErrorCode.BATCH_INVALID_ID, 400);
      }
      await expectFerryError(store.get('', 'good'), ErrorCode.BATCH_INVALID_ID, 400);
      // Validation runs over every chunk before the first statement.
      const many = Array.from({ length: UPSERT_ROWS_PER_STATEMENT * 2 }, (_, i) =>
        storedPrediction(`ok-${i}`),
      );
      many.push(storedPrediction(''));
      await expectFerryError(store.upsertMany(many), ErrorCode.BATCH_INVALID_ID, 400);
      expect(await store.count(MODEL)).toBe(0);
    });

    it('refuses malformed predictions with FERRY_BATCH_INVALID_PREDICTION', async () => {
      for (const overrides of [
        { version: 0 },
        { version: 1.5 },
        { version: 2 ** 31 }, // PostgreSQL INTEGER would overflow; SQLite must refuse it alike
        { probabilities: { mlops: Number.NaN } },
        { probabilities: { mlops: Number.POSITIVE_INFINITY } },
        { computedAt: 'yesterday-ish' },
        { inputSha256: '' },
      ] as Partial<StoredPrediction>[]) {
        await expectFerryError(
          store.upsertMany([storedPrediction('e1', overrides)]),
          ErrorCode.BATCH_INVALID_PREDICTION,
          400,
        );
      }
      expect(await store.count(MODEL)).toBe(0);
    });

    it('normalises computedAt to toISOString form so that times order as text', async () => {
      await store.upsertMany([
        storedPrediction('a', { computedAt: '2025-01-02T03:04:05Z' }),
        storedPrediction('b', { computedAt: '2025-01-02T04:04:05+02:00' }),
      ]);
      expect((await store.get(MODEL, 'a'))?.computedAt).toBe('2025-01-02T03:04:05.000Z');
      expect((await store.get(MODEL, 'b'))?.computedAt).toBe('2025-01-02T02:04:05.000Z');
      expect(await store.oldestComputedAt(MODEL)).toBe('2025-01-02T02:04:05.000Z');
    });

    it('counts rows, rows not from a version, and finds the oldest computedAt', async () => {
      expect(await store.count(MODEL)).toBe(0);
      expect(await store.countNotFromVersion(MODEL, 1)).toBe(0);
      expect(await store.oldestComputedAt(MODEL)).toBeUndefined();
      await store.upsertMany([
        storedPrediction('v1-a', { version: 1, computedAt: new Date(T0 + 5000).toISOString() }),
        storedPrediction('v1-b', { version: 1, computedAt: new Date(T0 + 1000).toISOString() }),
        storedPrediction('v2-a', { version: 2, computedAt: new Date(T0 + 9000).toISOString() }),
        storedPrediction('v3-a', { version: 3, computedAt: new Date(T0 + 3000).toISOString() }),
        storedPrediction('elsewhere', {
          model: 'other-model',
          version: 7,
          computedAt: '2000-01-01T00:00:00.000Z',
        }),
      ]);
      expect(await store.count(MODEL)).toBe(4);
      expect(await store.countNotFromVersion(MODEL, 1)).toBe(2);
      expect(await store.countNotFromVersion(MODEL, 2)).toBe(3);
      expect(await store.countNotFromVersion(MODEL, 3)).toBe(3);
      expect(await store.countNotFromVersion(MODEL, 99)).toBe(4);
      expect(await store.countNotFromVersion('other-model', 7)).toBe(0);
      expect(await store.oldestComputedAt(MODEL)).toBe(new Date(T0 + 1000).toISOString());
      expect(await store.oldestComputedAt('other-model')).toBe('2000-01-01T00:00:00.000Z');
      expect(await store.count('nobody')).toBe(0);
    });

    it("measures age by the store's clock", async () => {
      const row = storedPrediction('e1');
      expect(store.now().getTime()).toBe(T0);
      expect(store.ageMs(row)).toBe(0);
      time.set(T0 + 90_000);
      expect(store.ageMs(row)).toBe(90_000);
      time.set(T0 - 1000);
      expect(store.ageMs(row)).toBe(0);
    });

    it("upserts inside the caller's transaction: rolled back leaves nothing, committed keeps all", async () => {
      const rows = Array.from({ length: UPSERT_ROWS_PER_STATEMENT + 7 }, (_, i) => storedPrediction(`t${i}`));
      await expect(
        sql.transaction(async (tx) => {
          await store.upsertMany(rows, tx);
          expect(await store.get(MODEL, 't0', tx)).toEqual(rows[0]);
          throw new Error('abort the job chunk');
        }),
      ).rejects.toThrow('abort the job chunk');
      expect(await store.count(MODEL)).toBe(0);
      expect(await store.get(MODEL, 't0')).toBeUndefined();

      // The job engine's pattern: predictions and a progress row commit together.
      await sql.execute(
        'CREATE TABLE IF NOT EXISTS test_job_progress (job_id TEXT PRIMARY KEY, done INTEGER NOT NULL)',
      );
      await sql.transaction(async (tx) => {
        await store.upsertMany(rows, tx);
        await tx.execute('INSERT INTO test_job_progress (job_id, done) VALUES ($1, $2)', [
          'job-1',
          rows.length,
        ]);
      });
      expect(await store.count(MODEL)).toBe(rows.length);
      const [progress] = await sql.query<{ done: unknown }>('SELECT done FROM test_job_progress');
      expect(Number(progress?.done)).toBe(rows.length);
    });

    it('a multi-statement upsert without a transaction is all or nothing', async () => {
      // Three statements of the store's path: VALUES, or unnest on PostgreSQL.
      const perStatement = sql.dialect === 'postgres' ? UNNEST_ROWS_PER_STATEMENT : UPSERT_ROWS_PER_STATEMENT;
      const rows = Array.from({ length: perStatement * 2 + 1 }, (_, i) => storedPrediction(`m${i}`));
      // The third statement fails in the database: the first two must be rolled back with it.
      const failing = new PredictionStore({ sql: failNthExecute(sql, 3), clock: () => time.clock() });
      await expect(failing.upsertMany(rows)).rejects.toThrow('injected failure');
      expect(await store.count(MODEL)).toBe(0);
      await store.upsertMany(rows);
      expect(await store.count(MODEL)).toBe(rows.length);
    });

    it('handles a large batch (5000 rows) and its re-run', async () => {
      const rows = Array.from({ length: 5000 }, (_, i) =>
        storedPrediction(`big-${i}-'%_"`, { version: 1 + (i % 3), jobId: `job-${i % 2}` }),
      );
      await store.upsertMany(rows);
      expect(await store.count(MODEL)).toBe(5000);
      const back = await store.getMany(
        MODEL,
        rows.map((r) => r.entityId),
      );
      expect(back).toEqual(rows);
      const rerun = rows.map((r) => ({ ...r, version: 4, computedAt: new Date(T0 + 1).toISOString() }));
      await store.upsertMany(rerun);
      expect(await store.count(MODEL)).toBe(5000);
      expect(await store.countNotFromVersion(MODEL, 4)).toBe(0);
      expect(await store.get(MODEL, rows[4999]!.entityId)).toEqual(rerun[4999]);
    });

    it('another connection to the same database sees the rows', async () => {
      await store.upsertMany([storedPrediction("o'brien")]);
      const other = await openStore();
      expect(await other.store.get(MODEL, "o'brien")).toEqual(storedPrediction("o'brien"));
    });
  });
}
