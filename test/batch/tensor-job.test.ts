/**
 * Batch jobs of models other than the text classifier: rows read through an input map from CSV,
 * JSONL and SQL columns, converted to the signature's tensors, checked (bad rows are rejects with
 * a reason), stacked for a batchable model or sent one by one otherwise, stored as outputs; a job
 * that fails mid-way resumes without duplicating anything. The models are real ones written here
 * against the Model contract (the other kinds are built elsewhere), passed to the job by `openModel`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryJobQueue } from '../../src/adapters/memory/memory-job-queue.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { startBatchWorker } from '../../src/batch/distributed/batch-worker.js';
import { type ChunkMessage, chunkMessageId } from '../../src/batch/distributed/chunk-message.js';
import { getBatchJobStatus } from '../../src/batch/job/batch-status.js';
import { tensorFingerprint } from '../../src/batch/job/process-chunk.js';
import { type RunBatchJobOptions, runBatchJob } from '../../src/batch/job/run-batch-job.js';
import type { InputSpec } from '../../src/batch/job/types.js';
import { ErrorCode, FerryError } from '../../src/core/errors.js';
import type { Model } from '../../src/model/model.js';
import type { NamedTensors, Signature } from '../../src/model/tensor.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { type BatchEnv, createBatchEnv, generateProjects, MODEL, writeCsv, writeJsonl } from './helpers.js';

const W = [
  [1, 0],
  [0, 2],
  [-1, 1],
];
const B = [0.5, -0.5];

/** y = scale · (x·W) + b, row by row: x FP32 [n, 3], scale INT8 [n] → y FP32 [n, 2]. */
class LinearModel implements Model {
  readonly kind = 'custom';
  readonly classes: readonly string[] = [];
  readonly signature: Signature = {
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [-1, 3] },
      { name: 'scale', datatype: 'INT8', shape: [-1] },
    ],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
  };
  /** Rows per infer call, in order. */
  readonly calls: number[] = [];
  /** Fails (as a broken model does, not as a bad input) on this call number (1-based). */
  failOnCall: number | undefined;

  async infer(inputs: NamedTensors): Promise<NamedTensors> {
    const x = inputs.x!.data as number[];
    const scale = inputs.scale!.data as number[];
    const n = inputs.scale!.shape[0]!;
    this.calls.push(n);
    if (this.failOnCall === this.calls.length) {
      throw new FerryError(ErrorCode.MODEL_PREDICT_FAILED, 'the model process died');
    }
    // The model's own check of its input: a zero scale is refused as an invalid tensor.
    if (scale.includes(0)) throw new FerryError(ErrorCode.MODEL_INVALID_TENSOR, '"scale" must not be 0');
    return { y: { datatype: 'FP32', shape: [n, 2], data: linear(x, scale) } };
  }
}

function linear(x: readonly number[], scale: readonly number[]): number[] {
  const y: number[] = [];
  scale.forEach((s, r) => {
    for (let j = 0; j < 2; j++) {
      let v = B[j]!;
      for (let k = 0; k < 3; k++) v += s * x[r * 3 + k]! * W[k]![j]!;
      y.push(v);
    }
  });
  return y;
}

/** Not batchable: one 2×2 matrix per request, its determinant out. */
class DeterminantModel implements Model {
  readonly kind = 'custom';
  readonly classes: readonly string[] = [];
  readonly signature: Signature = {
    inputs: [{ name: 'm', datatype: 'FP64', shape: [2, 2] }],
    outputs: [{ name: 'det', datatype: 'FP64', shape: [] }],
    batchable: false,
  };
  readonly shapes: number[][] = [];
  async infer(inputs: NamedTensors): Promise<NamedTensors> {
    const m = inputs.m!;
    this.shapes.push([...m.shape]);
    const [a, b, c, d] = m.data as number[];
    return { det: { datatype: 'FP64', shape: [], data: [a! * d! - b! * c!] } };
  }
}

let env: BatchEnv;
beforeAll(async () => {
  env = await createBatchEnv();
});
afterAll(() => env?.close());

function runWith(model: Model, name: string, o: Partial<RunBatchJobOptions> & { input: InputSpec }) {
  return runBatchJob({
    registry: env.ferry.registry,
    sql: env.ferry.sql,
    store: env.store,
    model: `${name}/1`,
    openModel: async () => ({ version: { name, version: 1 }, model }),
    ...o,
  });
}

const readRejects = (path: string) =>
  (parse(readFileSync(path), { columns: true }) as { line: string; id: string; reason: string }[]).map(
    (r) => [Number(r.line), r.id, r.reason],
  );

describe('batch jobs of a batchable tensor model', () => {
  it('CSV through --input-map: JSON tensor columns, scalars as text, bad rows rejected with reasons', async () => {
    const model = new LinearModel();
    const rows: Record<string, string>[] = [
      { id: 'a', features: '[1, 2, 3]', k: '2' },
      { id: 'b', features: '{"shape": [3], "data": [0.5, 0, -1]}', k: '-3' },
      { id: 'c', features: '[1, 2]', k: '1' }, // 2 values for [3]
      { id: 'd', features: '[1, 2, 3]', k: '300' }, // INT8 range
      { id: 'e', features: '[1, "two", 3]', k: '1' },
      { id: 'f', features: 'not json', k: '1' },
      { id: 'g', features: '[1, 2, 3]', k: '' },
      { id: 'h', features: '[[1, 2, 3]]', k: '1' }, // shape [1, 3] for [3]
      { id: 'i', features: '["NaN", 1, 2]', k: '1' }, // FP32 without allowNonFinite
      { id: 'j', features: '[1, 2, 3]', k: '0' }, // the model refuses it
      { id: 'k', features: '[4, 5, 6]', k: '1.5' }, // not an integer
      { id: 'l', features: '[4, 5, 6]', k: '1' },
    ];
    const path = writeCsv(join(env.home, 'linear.csv'), rows, ['id', 'features', 'k']);
    const rejectsPath = join(env.home, 'linear.rejects.csv');
    const summary = await runWith(model, 'linear', {
      input: { kind: 'csv', path },
      inputMap: { x: 'features', scale: 'k' },
      chunkSize: 6,
      rejectsPath,
    });
    expect(summary).toMatchObject({ model: 'linear/1', rows: 12, predicted: 3, rejects: 9, chunks: 2 });
    expect(readRejects(rejectsPath)).toEqual([
      [4, 'c', '"x": shape [2] does not fit [3]'],
      [5, 'd', `"scale"[0]: 300 is outside INT8's range [-128, 127]`],
      [6, 'e', '"x"[1]: expected a number (FP32)'],
      [7, 'f', '"x": expected JSON (an array, or {"shape", "data"}) for a tensor of shape [3]'],
      [8, 'g', 'no value for input "scale" (column "k")'],
      [9, 'h', '"x": shape [1,3] does not fit [3]'],
      [10, 'i', '"x"[0]: NaN is not finite (the signature does not allow NaN or Infinity)'],
      [11, 'j', 'the model refused the row: "scale" must not be 0'],
      [12, 'k', '"scale"[0]: 1.5 is not an integer (INT8)'],
    ]);
    const stored = await env.store.getMany('linear', ['a', 'b', 'l']);
    expect(stored.map((s) => s?.outputs)).toEqual([
      { y: { datatype: 'FP32', shape: [2], data: linear([1, 2, 3], [2]) } },
      { y: { datatype: 'FP32', shape: [2], data: linear([0.5, 0, -1], [-3]) } },
      { y: { datatype: 'FP32', shape: [2], data: linear([4, 5, 6], [1]) } },
    ]);
    expect(stored[0]).not.toHaveProperty('prediction');
    expect(stored[0]!.inputSha256).toBe(
      tensorFingerprint({
        tensors: {
          x: { datatype: 'FP32', shape: [3], data: [1, 2, 3] },
          scale: { datatype: 'INT8', shape: [], data: [2] },
        },
      }),
    );
    // Chunk 1's good rows (a, b) stacked in one call; chunk 2's (j, l) too, refused for j, then
    // run row by row: only j is a reject.
    expect(model.calls).toEqual([2, 2, 1, 1]);
  });

  it('JSONL with the default map: JSON values as they are, strings as text', async () => {
    const model = new LinearModel();
    const path = writeJsonl(join(env.home, 'linear.jsonl'), [
      { id: 1, x: [1, 1, 1], scale: 1 },
      { id: 2, x: '[2, 2, 2]', scale: '2' },
      { id: 3, x: { shape: [3], data: [3, 3, 3] }, scale: [3] },
      { id: 4, x: [1, 1, 1] },
      { id: 5, x: [1, 1, 1], scale: true },
      { id: 6, x: [[1], [1], [1]], scale: 1 },
    ]);
    const rejectsPath = join(env.home, 'linear-jsonl.rejects.csv');
    const summary = await runWith(model, 'linear', { input: { kind: 'jsonl', path }, rejectsPath });
    expect(summary).toMatchObject({ rows: 6, predicted: 3, rejects: 3 });
    expect(readRejects(rejectsPath)).toEqual([
      [4, '4', 'no value for input "scale" (column "scale")'],
      [5, '5', '"scale"[0]: expected a number (INT8)'],
      [6, '6', '"x": shape [3,1] does not fit [3]'],
    ]);
    const stored = await env.store.getMany('linear', ['1', '2', '3']);
    expect(stored.map((s) => s?.outputs.y?.data)).toEqual([
      linear([1, 1, 1], [1]),
      linear([2, 2, 2], [2]),
      linear([3, 3, 3], [3]),
    ]);
    expect(model.calls).toEqual([3]);
  });

  it('SQL columns: numbers as numbers, JSON text as tensors', async () => {
    const model = new LinearModel();
    const dbPath = join(env.home, 'tensors.db');
    const client = new SqliteClient({ path: dbPath });
    await client.init();
    try {
      await client.execute('CREATE TABLE items (id TEXT, x TEXT, scale INTEGER)');
      await client.execute(
        "INSERT INTO items VALUES ('s1', '[1,0,0]', 4), ('s2', '[0,1,0]', 5), ('s3', '[0,0,1]', NULL)",
      );
      const summary = await runWith(model, 'linear', {
        input: { kind: 'sql', client, query: 'SELECT * FROM items', dbUrl: `sqlite:${dbPath}` },
      });
      expect(summary).toMatchObject({ rows: 3, predicted: 2, rejects: 1 });
      expect((await env.store.get('linear', 's2'))?.outputs.y?.data).toEqual(linear([0, 1, 0], [5]));
    } finally {
      await client.close();
    }
  });

  it('a job whose model fails mid-way resumes without predicting or storing anything twice', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      id: `r-${String(i).padStart(3, '0')}`,
      x: `[${i}, ${i + 1}, ${i + 2}]`,
      scale: String((i % 5) + 1),
    }));
    const path = writeCsv(join(env.home, 'resume.csv'), rows, ['id', 'x', 'scale']);
    const broken = new LinearModel();
    broken.failOnCall = 3;
    const input: InputSpec = { kind: 'csv', path };
    const e = await expectFerryError(
      runWith(broken, 'resume-model', { input, chunkSize: 10 }),
      ErrorCode.MODEL_PREDICT_FAILED,
    );
    expect(e.message).toMatch(/died/);
    const [job] = await env.ferry.sql.query<{ job_id: string }>(
      "SELECT job_id FROM ferry_batch_jobs WHERE model = 'resume-model'",
    );
    const failed = await getBatchJobStatus(env.ferry.sql, job!.job_id);
    expect(failed.status).toBe('failed');
    // Chunks 1 and 2 are committed; the 4th, in flight beside the failing 3rd, may be too.
    const committed = failed.chunksDone;
    expect([2, 3]).toContain(committed);

    const healthy = new LinearModel();
    const resumed = await runWith(healthy, 'resume-model', { input });
    expect(resumed).toMatchObject({
      jobId: job!.job_id,
      rows: 50,
      predicted: 50,
      chunks: 5,
      skippedChunks: committed,
    });
    expect(healthy.calls).toEqual(Array(5 - committed).fill(10));
    const [counts] = await env.ferry.sql.query<{ n: unknown; distinct_ids: unknown }>(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT entity_id) AS distinct_ids FROM ferry_batch_predictions WHERE model = 'resume-model'",
    );
    expect([Number(counts!.n), Number(counts!.distinct_ids)]).toEqual([50, 50]);
    expect((await env.store.get('resume-model', 'r-049'))?.outputs.y?.data).toEqual(
      linear([49, 50, 51], [5]),
    );
    expect((await getBatchJobStatus(env.ferry.sql, job!.job_id)).status).toBe('done');
  });

  it('an --input-map naming no input, or a missing column, fails before anything is written', async () => {
    const path = writeCsv(join(env.home, 'cols.csv'), [{ id: 'z', x: '[1,2,3]' }], ['id', 'x']);
    const before = await env.store.count('cols-model');
    await expectFerryError(
      runWith(new LinearModel(), 'cols-model', { input: { kind: 'csv', path }, inputMap: { features: 'x' } }),
      ErrorCode.BATCH_INVALID_OPTIONS,
      400,
    );
    const missing = await expectFerryError(
      runWith(new LinearModel(), 'cols-model', { input: { kind: 'csv', path } }),
      ErrorCode.BATCH_MISSING_COLUMN,
    );
    expect(missing.details.missing).toEqual(['scale']);
    expect(missing.message).toContain('--input-map');
    expect(await env.store.count('cols-model')).toBe(before);
    const jobs = await env.ferry.sql.query("SELECT job_id FROM ferry_batch_jobs WHERE model = 'cols-model'");
    expect(jobs).toEqual([]);
  });
});

describe('batch jobs of a model that is not batchable', () => {
  it('sends each row as the whole request, in the signature shape', async () => {
    const model = new DeterminantModel();
    const path = writeJsonl(join(env.home, 'det.jsonl'), [
      {
        id: 'm1',
        m: [
          [1, 2],
          [3, 4],
        ],
      },
      { id: 'm2', m: [2, 0, 0, 2] },
      { id: 'm3', m: { shape: [2, 2], data: [0, 1, 1, 0] } },
      { id: 'm4', m: [[1, 2], [3]] },
      { id: 'm5', m: [1, 2, 3] },
    ]);
    const rejectsPath = join(env.home, 'det.rejects.csv');
    const summary = await runWith(model, 'det', { input: { kind: 'jsonl', path }, rejectsPath });
    expect(summary).toMatchObject({ rows: 5, predicted: 3, rejects: 2 });
    expect(readRejects(rejectsPath)).toEqual([
      [4, 'm4', '"m": a nested array whose rows differ in length'],
      [5, 'm5', '"m": 3 values do not fill the shape [2,2]; give a nested array or {"shape", "data"}'],
    ]);
    expect(model.shapes).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    const stored = await env.store.getMany('det', ['m1', 'm2', 'm3']);
    expect(stored.map((s) => s?.outputs)).toEqual(
      [-2, 4, -1].map((d) => ({ det: { datatype: 'FP64', shape: [], data: [d] } })),
    );
  });
});

describe('distributed batch jobs of a tensor model', () => {
  it('workers open the model by its ref and store what a local run would', async () => {
    const queue = new MemoryJobQueue<ChunkMessage>();
    await queue.init();
    const workerModel = new LinearModel();
    const opened: string[] = [];
    try {
      await startBatchWorker({
        queue,
        registry: env.ferry.registry,
        sql: env.ferry.sql,
        store: env.store,
        openModel: async (ref) => {
          opened.push(ref);
          return { version: { name: 'dist-linear', version: 1 }, model: workerModel };
        },
      });
      const rows = Array.from({ length: 25 }, (_, i) => ({ id: `d${i}`, x: `[${i}, 1, 0]`, scale: '1' }));
      rows.push({ id: 'd-bad', x: '[1]', scale: '1' });
      const path = writeCsv(join(env.home, 'dist.csv'), rows, ['id', 'x', 'scale']);
      const summary = await runWith(new LinearModel(), 'dist-linear', {
        input: { kind: 'csv', path },
        chunkSize: 10,
        pollMs: 20,
        dispatch: (chunk) => queue.enqueue(chunk, { jobId: chunkMessageId(chunk.jobId, chunk.chunkIndex) }),
      });
      expect(summary).toMatchObject({ rows: 26, predicted: 25, rejects: 1, chunks: 3 });
      expect(opened).toEqual(['dist-linear/1']);
      expect(workerModel.calls).toEqual([10, 10, 5]);
      expect((await env.store.get('dist-linear', 'd7'))?.outputs.y?.data).toEqual(linear([7, 1, 0], [1]));
    } finally {
      await queue.close();
    }
  });
});

describe('text classifier jobs', () => {
  it('read other columns through --input-map, and the default map keeps the job id', async () => {
    const projects = generateProjects(30, 'map-');
    const renamed = projects.map((p) => ({ id: p.id, name: p.title, body: p.description }));
    const mapped = writeCsv(join(env.home, 'renamed.csv'), renamed, ['id', 'name', 'body']);
    const base = {
      registry: env.ferry.registry,
      sql: env.ferry.sql,
      store: env.store,
      model: `${MODEL}@production`,
    };
    const a = await runBatchJob({
      ...base,
      input: { kind: 'csv', path: mapped },
      inputMap: { title: 'name', description: 'body' },
    });
    expect(a).toMatchObject({ rows: 30, predicted: 30, rejects: 0 });
    const stored = await env.store.get(MODEL, 'map-0000001');
    expect(stored?.prediction).toEqual(expect.any(String));
    expect(stored?.outputs.label?.data).toEqual([stored?.prediction]);

    const plain = writeCsv(join(env.home, 'plain.csv'), projects);
    const b = await runBatchJob({ ...base, input: { kind: 'csv', path: plain } });
    const c = await runBatchJob({
      ...base,
      input: { kind: 'csv', path: plain },
      inputMap: { title: 'title', description: 'description' },
    });
    expect(c).toMatchObject({ jobId: b.jobId, alreadyFinished: true });
  });
});
