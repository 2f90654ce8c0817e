import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from '../../src/model/text-classifier.js';
import type { DistillOptions, Optimizers, TrainingRows } from '../../src/optimize/optimize-types.js';
import { type OptimizeDeps, type OptimizeRequest, runOptimize } from '../../src/optimize/run-optimize.js';
import type { ModelRegistry } from '../../src/registry/model-registry.js';
import { registerArtifact } from '../../src/registry/register-artifact.js';
import type { LabeledProject } from '../../src/train/dataset.js';
import { readDatasetLocation } from '../../src/train/dataset-location.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import {
  newSeen,
  openTestRegistry,
  roundingOptimizer,
  type Seen,
  simpleMeasure,
  trainParent,
} from './optimize-fixtures.js';

let dir: { path: string; remove: () => Promise<void> };
let registry: ModelRegistry;
let close: () => Promise<void>;
let parent: Awaited<ReturnType<typeof trainParent>>;
const ctx = () => ({ cacheDir: join(dir.path, 'cache'), callTimeoutMs: 10_000 });

beforeAll(async () => {
  dir = await makeTmpDir('ferry-optimize-');
  ({ registry, close } = await openTestRegistry(dir.path, ctx()));
  parent = await trainParent(registry, dir.path);
}, 60_000);

afterAll(async () => {
  await close();
  await dir.remove();
});

/** A real student: a text classifier fitted on the rows it is given (its labels), recording what it got. */
function recordingDistill(got: { training?: TrainingRows; options?: DistillOptions }): Optimizers['distill'] {
  return async (_teacher, training, options) => {
    got.training = training;
    got.options = options;
    const model = TextClassifier.fit(
      training.rows,
      training.rows.map((r) => r.tag),
      (parent.outcome.model as TextClassifier).params,
    );
    return { kind: TEXT_CLASSIFIER_KIND, artifact: model.toArtifact(), details: { student: 'word' } };
  };
}

function depsWith(seen: Seen, optimizers?: Partial<Optimizers>): OptimizeDeps {
  return {
    registry,
    optimizers: { kinds: [roundingOptimizer(seen)], distill: recordingDistill({}), ...optimizers },
    measure: simpleMeasure(seen, ctx()),
    kindContext: ctx(),
    readData: (loc) => readDatasetLocation(loc, { cacheDir: join(dir.path, 'cache') }),
  };
}

const quantize: OptimizeRequest = {
  model: 'tagifai@production',
  method: 'quantize',
  options: { dtype: 'int8' },
  seed: 1,
};
const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id).sort();
const versionCount = async () => (await registry.list('tagifai')).length;

describe('runOptimize', () => {
  it('registers the variant with its lineage, measured on the re-derived validation split; no alias moves', async () => {
    const seen = newSeen();
    const before = await versionCount();
    const { parent: p, variant, report } = await runOptimize(depsWith(seen), quantize);
    expect(p.version).toBe(parent.version.version);
    expect(variant).toMatchObject({
      name: 'tagifai',
      version: before + 1,
      aliases: [],
      kind: TEXT_CLASSIFIER_KIND,
    });
    expect(variant.params.lineage).toEqual({
      parent: { name: 'tagifai', version: p.version },
      method: 'quantize',
      options: { dtype: 'int8' },
    });
    expect(variant.params.optimization).toEqual({ decimals: 2 });
    expect(variant.tags).toEqual({ optimized_from: `tagifai/${p.version}`, optimize_method: 'quantize' });
    expect(variant.signature).toEqual(p.signature);
    expect((await registry.aliases('tagifai')).production).toBe(p.version);
    // The same rows as the training run's validation split, and they were seen (refit on all rows).
    expect(ids(seen.evalSets[0]!.rows)).toEqual(ids(parent.outcome.heldOut.rows));
    expect(seen.evalSets[0]!.seenInTraining).toBe(true);
    expect(report.evalSet).toMatchObject({ rows: parent.outcome.heldOut.rows.length, seenInTraining: true });
    expect(report.variants[0]!.ref).toBe(`tagifai/${variant.version}`);
    expect(seen.candidates[0]![1]!.ref).toBeNull(); // measured before it was registered
    expect(variant.metrics.eval_weighted_f1).toBe(report.variants[0]!.weightedF1);
    expect(variant.metrics.parent_eval_weighted_f1).toBe(report.parent.weightedF1);
    // Quantize trains nothing: no training rows are read.
    expect(seen.contexts[0]!.training).toBeNull();
    // The variant loads and predicts like its parent would.
    const stored = await registry.loadArtifact(`tagifai/${variant.version}`);
    expect(stored.bytes.byteLength).toBe(variant.artifactSize);
  });

  it('moves --alias to the new version and leaves production where it was', async () => {
    const { variant } = await runOptimize(depsWith(newSeen()), { ...quantize, alias: 'staging' });
    const aliases = await registry.aliases('tagifai');
    expect(aliases.staging).toBe(variant.version);
    expect(aliases.production).toBe(parent.version.version);
    expect(variant.aliases).toEqual(['staging']);
  });

  it('fine-tunes on the training rows without the evaluation rows, by id and by identical text', async () => {
    const seen = newSeen();
    await runOptimize(depsWith(seen), {
      model: 'tagifai@production',
      method: 'prune',
      options: { method: 'magnitude', sparsity: 0.5, fineTune: true },
      seed: 1,
    });
    const held = parent.outcome.heldOut.rows;
    const training = seen.contexts[0]!.training!;
    expect(training.rows.length).toBe(parent.data.rows.length - held.length);
    const heldIds = new Set(held.map((r) => r.id));
    expect(training.rows.some((r) => heldIds.has(r.id))).toBe(false);

    // --data-loc with the evaluation texts under new ids: they are still left out.
    const copies = held.slice(0, 5).map((r, i) => ({ ...r, id: `copy-${i}` }));
    const extra = parent.data.rows.filter((r) => !heldIds.has(r.id)).slice(0, 20);
    const dataLoc = join(dir.path, 'with-copies.csv');
    await writeCsv(dataLoc, [...extra, ...copies]);
    const seen2 = newSeen();
    await runOptimize(depsWith(seen2), {
      model: 'tagifai@production',
      method: 'prune',
      options: { method: 'magnitude', sparsity: 0.5, fineTune: true },
      dataLoc,
      seed: 1,
    });
    expect(ids(seen2.contexts[0]!.training!.rows)).toEqual(ids(extra));
  });

  it('distills without the evaluation texts among the unlabeled texts', async () => {
    const got: { training?: TrainingRows; options?: DistillOptions } = {};
    const held = parent.outcome.heldOut.rows;
    const unlabeledLoc = join(dir.path, 'projects.csv');
    // Like projects.csv: every dataset text (the evaluation ones included) plus others.
    const others = [
      { id: 'u1', title: 'A new thing', description: 'Something unlabeled about graphs.', tag: '' },
    ];
    await writeCsv(unlabeledLoc, [...parent.data.rows, ...others] as LabeledProject[], [
      'id',
      'title',
      'description',
    ]);
    const { variant } = await runOptimize(depsWith(newSeen(), { distill: recordingDistill(got) }), {
      model: 'tagifai@production',
      method: 'distill',
      options: { student: { type: 'word', ngrams: [1, 2] }, temperature: 2, alpha: 0.5 },
      unlabeledLoc,
      seed: 1,
    });
    const heldTexts = new Set(held.map((r) => r.title));
    expect(got.training!.rows.some((r) => heldTexts.has(r.title))).toBe(false);
    expect(got.options!.unlabeled!.length).toBe(parent.data.rows.length - held.length + 1);
    expect(got.options!.unlabeled!.some((r) => heldTexts.has(r.title))).toBe(false);
    expect(variant.params.lineage).toMatchObject({
      method: 'distill',
      options: { temperature: 2, alpha: 0.5 },
    });
    // The student never saw those rows: a later optimization of it says so.
    const seen = newSeen();
    await runOptimize(depsWith(seen), { ...quantize, model: `tagifai/${variant.version}` });
    expect(seen.evalSets[0]!.seenInTraining).toBe(false);
    expect(ids(seen.evalSets[0]!.rows)).toEqual(ids(held));
  });

  it('names the kinds that support a method when the parent kind does not', async () => {
    const before = await versionCount();
    const onnxOnly = { kind: 'onnx', quantize: roundingOptimizer(newSeen()).quantize! };
    const err = await expectFerryError(
      runOptimize(depsWith(newSeen(), { kinds: [onnxOnly] }), quantize),
      ErrorCode.OPTIMIZE_UNSUPPORTED,
    );
    expect(err.message).toContain('kinds that support it: onnx');
    const none = await expectFerryError(
      runOptimize(depsWith(newSeen(), { kinds: [onnxOnly] }), {
        ...quantize,
        method: 'prune',
        options: { method: 'structured', keepFeatures: 10, fineTune: false },
      }),
      ErrorCode.OPTIMIZE_UNSUPPORTED,
    );
    expect(none.message).toContain('no kind supports it yet');
    expect(await versionCount()).toBe(before);
  });

  it('registers nothing when anything before the registration fails', async () => {
    const before = await versionCount();
    const unknownTag = join(dir.path, 'unknown-tag.csv');
    await writeCsv(unknownTag, [{ ...parent.data.rows[0]!, tag: 'astrology' }]);
    const failing: [() => Promise<unknown>, string][] = [
      [
        () => runOptimize(depsWith(newSeen()), { ...quantize, evalLoc: unknownTag }),
        ErrorCode.DATA_UNKNOWN_LABEL,
      ],
      [
        () =>
          runOptimize(
            { ...depsWith(newSeen()), measure: async () => Promise.reject(new Error('measure failed')) },
            quantize,
          ),
        'Error',
      ],
      [
        () =>
          runOptimize(
            depsWith(newSeen(), {
              kinds: [
                {
                  kind: TEXT_CLASSIFIER_KIND,
                  quantize: async () => ({
                    kind: TEXT_CLASSIFIER_KIND,
                    artifact: new Uint8Array([1]),
                    details: {},
                  }),
                },
              ],
            }),
            quantize,
          ),
        ErrorCode.MODEL_INVALID_ARTIFACT,
      ],
      [() => runOptimize(depsWith(newSeen()), { ...quantize, alias: '42' }), ErrorCode.REGISTRY_INVALID_NAME],
      [
        () =>
          runOptimize(depsWith(newSeen()), {
            ...quantize,
            method: 'prune',
            options: { method: 'magnitude', sparsity: 1.5, fineTune: false },
          }),
        ErrorCode.OPTIMIZE_INVALID,
      ],
    ];
    for (const [run, code] of failing) {
      const e = await run().then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).not.toBeNull();
      expect((e as { code?: string }).code ?? (e as Error).name).toBe(code);
    }
    expect(await versionCount()).toBe(before);
  });

  it('refuses an ONNX parent as a teacher, and asks it for --eval-loc (no dataset record)', async () => {
    const bytes = new Uint8Array(await readFile('test/fixtures/onnx/mlp.onnx'));
    await registerArtifact(registry, 'mlp', bytes, { kind: 'onnx' }, ctx());
    const teacher = await expectFerryError(
      runOptimize(depsWith(newSeen()), {
        model: 'mlp/1',
        method: 'distill',
        options: { student: { type: 'word', ngrams: [1, 1] }, temperature: 2, alpha: 0.5 },
        seed: 1,
      }),
      ErrorCode.OPTIMIZE_UNSUPPORTED,
    );
    expect(teacher.message).toContain('text contract');
    const onnxQuantize = { kind: 'onnx', quantize: roundingOptimizer(newSeen()).quantize! };
    const noSplit = await expectFerryError(
      runOptimize(depsWith(newSeen(), { kinds: [onnxQuantize] }), { ...quantize, model: 'mlp/1' }),
      ErrorCode.OPTIMIZE_INVALID,
    );
    expect(noSplit.message).toContain('--eval-loc');
    expect((await registry.list('mlp')).length).toBe(1);
  });

  it('requires --eval-loc when no dataset record gives a split, and refuses a changed training file', async () => {
    const { bytes, version } = await registry.loadArtifact('tagifai@production');
    await registry.register('bare', bytes, {
      kind: version.kind,
      params: {},
      metrics: {},
      dataset: {},
      signature: version.signature,
    });
    const changed = join(dir.path, 'changed.csv');
    await writeCsv(changed, parent.data.rows.slice(0, 100));
    await registry.register('moved', bytes, {
      kind: version.kind,
      params: {},
      metrics: {},
      dataset: { ...version.dataset, source: changed },
      signature: version.signature,
    });
    const bare = await expectFerryError(
      runOptimize(depsWith(newSeen()), { ...quantize, model: 'bare/1' }),
      ErrorCode.OPTIMIZE_INVALID,
    );
    expect(bare.message).toContain('--eval-loc');
    const moved = await expectFerryError(
      runOptimize(depsWith(newSeen()), { ...quantize, model: 'moved/1' }),
      ErrorCode.OPTIMIZE_INVALID,
    );
    expect(moved.message).toContain('changed since');
    expect((await registry.list('bare')).length).toBe(1);
    expect((await registry.list('moved')).length).toBe(1);
    // With --eval-loc (rows it was not trained on) the same parent can be optimized.
    const evalLoc = join(dir.path, 'eval.csv');
    await writeCsv(evalLoc, parent.outcome.heldOut.rows);
    const seen = newSeen();
    await runOptimize(depsWith(seen), { ...quantize, model: 'bare/1', evalLoc });
    expect(seen.evalSets[0]).toMatchObject({ source: evalLoc, seenInTraining: false });
  });
});

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

async function writeCsv(
  path: string,
  rows: readonly LabeledProject[],
  columns: readonly ('id' | 'title' | 'description' | 'tag')[] = ['id', 'title', 'description', 'tag'],
): Promise<void> {
  const lines = rows.map((r) => columns.map((c) => csvField(r[c])).join(','));
  await writeFile(path, `${[columns.join(','), ...lines].join('\n')}\n`);
}
