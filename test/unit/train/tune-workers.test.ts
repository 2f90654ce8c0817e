import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS } from '../../../src/model/text-classifier.js';
import { type FoldJob, type FoldResult, runFold } from '../../../src/train/cv-fold.js';
import { runFoldsInWorkers } from '../../../src/train/cv-pool.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { trainTextClassifier, trainTextClassifierInWorkers } from '../../../src/train/pipeline.js';
import { type TuneGrid, tune, tuneInWorkers } from '../../../src/train/tune.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const rows = sample.rows;
const labels = rows.map((r) => r.tag);

/** Two class weights × two C values: warm starts chain within each class weight. */
const GRID: TuneGrid = {
  featureSets: [{ name: 'word 1-2 + char 3-5', wordNgrams: [1, 2], charNgrams: [3, 5] }],
  C: [30, 3],
  classWeight: ['none', 'balanced'],
  otherThresholds: [0, 0.4],
};

function foldJob(trainIdx: number[], testIdx: number[]): FoldJob {
  return {
    train: trainIdx.map((i) => rows[i]!),
    trainLabels: trainIdx.map((i) => labels[i]!),
    test: testIdx.map((i) => rows[i]!),
    classes: [...new Set(labels)].sort(),
    base: DEFAULT_PARAMS,
    featureSets: [{ wordNgrams: [1, 2], charNgrams: [3, 5] }],
    classWeights: ['none', 'balanced'],
    C: [3, 30],
  };
}

describe('cross-validation folds on worker threads', () => {
  it('a worker thread fits a fold to the same bits as this thread', async () => {
    const evens = rows.map((_, i) => i).filter((i) => i % 2 === 0);
    const odds = rows.map((_, i) => i).filter((i) => i % 2 === 1);
    const job = foldJob(evens, odds);
    // The worker entry itself, started directly, so that a fallback to this thread cannot hide a failure.
    const worker = new Worker(new URL('../../../src/train/cv-worker.ts', import.meta.url));
    try {
      const reply = await new Promise<FoldResult & { id: number }>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (msg: { ready?: boolean; id?: number; probs?: Float64Array[] }) => {
          if (msg.ready) worker.postMessage({ id: 7, job });
          else if (msg.probs) resolve({ id: msg.id ?? -1, probs: msg.probs });
          else reject(new Error(JSON.stringify(msg)));
        });
      });
      const here = runFold(job);
      expect(reply.id).toBe(7);
      expect(reply.probs).toHaveLength(4);
      reply.probs.forEach((p, i) => {
        expect(p.length).toBe(odds.length * 4);
        expect(Buffer.from(p.buffer).equals(Buffer.from(here.probs[i]!.buffer))).toBe(true);
      });
      // Warm-started fits differ from each other: the candidates are not one fit repeated.
      expect(Buffer.from(here.probs[0]!.buffer).equals(Buffer.from(here.probs[1]!.buffer))).toBe(false);
    } finally {
      await worker.terminate();
    }
  });

  it('runFoldsInWorkers returns the folds in job order, whatever thread finishes first', async () => {
    const all = rows.map((_, i) => i);
    const jobs = [0, 1, 2].map((k) =>
      foldJob(
        all.filter((i) => i % 3 !== k),
        all.filter((i) => i % 3 === k),
      ),
    );
    const seen: number[] = [];
    const threaded = await runFoldsInWorkers(jobs, 2, (i) => seen.push(i));
    expect(seen.sort()).toEqual([0, 1, 2]);
    threaded.forEach((r, k) => {
      const here = runFold(jobs[k]!);
      r.probs.forEach((p, i) => {
        expect(Array.from(p)).toEqual(Array.from(here.probs[i]!));
      });
    });
  });

  it('tuneInWorkers chooses the same params, trials and scores as tune', async () => {
    const opts = { folds: 3, seed: 42 };
    const here = tune(rows, labels, DEFAULT_PARAMS, GRID, opts);
    const threaded = await tuneInWorkers(rows, labels, DEFAULT_PARAMS, GRID, { ...opts, threads: 2 });
    expect(threaded).toEqual(here);
    expect(here.trials).toHaveLength(4);
  });

  it('trainTextClassifierInWorkers gives the same model bytes as trainTextClassifier', async () => {
    const opts = { seed: 42, folds: 3, grid: GRID };
    const here = trainTextClassifier(sample, opts);
    const threaded = await trainTextClassifierInWorkers(sample, { ...opts, threads: 2 });
    expect(threaded.params).toEqual(here.params);
    expect(threaded.metrics.cv_f1).toBe(here.metrics.cv_f1);
    expect(Buffer.from(threaded.model.toArtifact()).equals(Buffer.from(here.model.toArtifact()))).toBe(true);
    // The two final fits (train part, all rows) ran on two threads and came back as raw parameters.
    const trainPart = (o: typeof here) => Buffer.from(o.heldOut.model.toArtifact());
    expect(trainPart(threaded).equals(trainPart(here))).toBe(true);
    expect(trainPart(here).equals(Buffer.from(here.model.toArtifact()))).toBe(false);
    expect(threaded.metrics.val_f1).toBe(here.metrics.val_f1);
  });
});
