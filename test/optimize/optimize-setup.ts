import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { KindContext } from '../../src/model/kinds/index.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from '../../src/model/text-classifier.js';
import type { DistillOptions, Optimizers, TrainingRows } from '../../src/optimize/optimize-types.js';
import type { OptimizeDeps, OptimizeRequest } from '../../src/optimize/run-optimize.js';
import type { ModelRegistry } from '../../src/registry/model-registry.js';
import type { LabeledProject } from '../../src/train/dataset.js';
import { readDatasetLocation } from '../../src/train/dataset-location.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import {
  openTestRegistry,
  roundingOptimizer,
  type Seen,
  simpleMeasure,
  trainParent,
} from './optimize-fixtures.js';

export interface OptimizeTest {
  dir: string;
  registry: ModelRegistry;
  parent: Awaited<ReturnType<typeof trainParent>>;
  ctx: KindContext;
  depsWith(seen: Seen, optimizers?: Partial<Optimizers>): OptimizeDeps;
}

/** One registry with a trained tagifai@production per test file (opened before, removed after). */
export function useOptimizeTest(): OptimizeTest {
  const t = {} as OptimizeTest;
  let remove: () => Promise<void>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const dir = await makeTmpDir('ferry-optimize-');
    remove = dir.remove;
    t.dir = dir.path;
    t.ctx = { cacheDir: join(dir.path, 'cache'), callTimeoutMs: 10_000 };
    const opened = await openTestRegistry(dir.path, t.ctx);
    close = opened.close;
    t.registry = opened.registry;
    t.parent = await trainParent(t.registry, dir.path);
    t.depsWith = (seen, optimizers) => ({
      registry: t.registry,
      optimizers: { kinds: [roundingOptimizer(seen)], distill: recordingDistill(t, {}), ...optimizers },
      measure: simpleMeasure(seen, t.ctx),
      kindContext: t.ctx,
      readData: (loc) => readDatasetLocation(loc, { cacheDir: t.ctx.cacheDir }),
    });
  }, 60_000);
  afterAll(async () => {
    await close();
    await remove();
  });
  return t;
}

/** A real student: a text classifier fitted on the rows it is given (its labels), recording what it got. */
export function recordingDistill(
  t: OptimizeTest,
  got: { training?: TrainingRows; options?: DistillOptions },
): Optimizers['distill'] {
  return async (_teacher, training, options) => {
    got.training = training;
    got.options = options;
    const model = TextClassifier.fit(
      training.rows,
      training.rows.map((r) => r.tag),
      (t.parent.outcome.model as TextClassifier).params,
    );
    return { kind: TEXT_CLASSIFIER_KIND, artifact: model.toArtifact(), details: { student: 'word' } };
  };
}

export const quantize: OptimizeRequest = {
  model: 'tagifai@production',
  method: 'quantize',
  options: { dtype: 'int8' },
  seed: 1,
};

export const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id).sort();

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export async function writeCsv(
  path: string,
  rows: readonly LabeledProject[],
  columns: readonly ('id' | 'title' | 'description' | 'tag')[] = ['id', 'title', 'description', 'tag'],
): Promise<void> {
  const lines = rows.map((r) => columns.map((c) => csvField(r[c])).join(','));
  await writeFile(path, `${[columns.join(','), ...lines].join('\n')}\n`);
}
