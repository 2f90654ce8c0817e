import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { TEXT_CLASSIFIER_KIND } from '../../src/model/text-classifier.js';
import { runOptimize } from '../../src/optimize/run-optimize.js';
import { registerArtifact } from '../../src/registry/register-artifact.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { newSeen, roundingOptimizer } from './optimize-fixtures.js';
import { quantize, useOptimizeTest, writeCsv } from './optimize-setup.js';

const t = useOptimizeTest();
const versionCount = async () => (await t.registry.list('tagifai')).length;

describe('runOptimize refusals', () => {
  it('names the kinds that support a method when the parent kind does not', async () => {
    const before = await versionCount();
    const onnxOnly = { kind: 'onnx', quantize: roundingOptimizer(newSeen()).quantize! };
    const err = await expectFerryError(
      runOptimize(t.depsWith(newSeen(), { kinds: [onnxOnly] }), quantize),
      ErrorCode.OPTIMIZE_UNSUPPORTED,
    );
    expect(err.message).toContain('kinds that support it: onnx');
    const none = await expectFerryError(
      runOptimize(t.depsWith(newSeen(), { kinds: [onnxOnly] }), {
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
    const unknownTag = join(t.dir, 'unknown-tag.csv');
    await writeCsv(unknownTag, [{ ...t.parent.data.rows[0]!, tag: 'astrology' }]);
    const failing: [() => Promise<unknown>, string][] = [
      [
        () => runOptimize(t.depsWith(newSeen()), { ...quantize, evalLoc: unknownTag }),
        ErrorCode.DATA_UNKNOWN_LABEL,
      ],
      [
        () =>
          runOptimize(
            { ...t.depsWith(newSeen()), measure: async () => Promise.reject(new Error('measure failed')) },
            quantize,
          ),
        'Error',
      ],
      [
        () =>
          runOptimize(
            t.depsWith(newSeen(), {
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
      [
        () => runOptimize(t.depsWith(newSeen()), { ...quantize, alias: '42' }),
        ErrorCode.REGISTRY_INVALID_NAME,
      ],
      [
        () =>
          runOptimize(t.depsWith(newSeen()), {
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
    await registerArtifact(t.registry, 'mlp', bytes, { kind: 'onnx' }, t.ctx);
    const teacher = await expectFerryError(
      runOptimize(t.depsWith(newSeen()), {
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
      runOptimize(t.depsWith(newSeen(), { kinds: [onnxQuantize] }), { ...quantize, model: 'mlp/1' }),
      ErrorCode.OPTIMIZE_INVALID,
    );
    expect(noSplit.message).toContain('--eval-loc');
    expect((await t.registry.list('mlp')).length).toBe(1);
  });

  it('requires --eval-loc when no dataset record gives a split, and refuses a changed training file', async () => {
    const { bytes, version } = await t.registry.loadArtifact('tagifai@production');
    await t.registry.register('bare', bytes, {
      kind: version.kind,
      params: {},
      metrics: {},
      dataset: {},
      signature: version.signature,
    });
    const changed = join(t.dir, 'changed.csv');
    await writeCsv(changed, t.parent.data.rows.slice(0, 100));
    await t.registry.register('moved', bytes, {
      kind: version.kind,
      params: {},
      metrics: {},
      dataset: { ...version.dataset, source: changed },
      signature: version.signature,
    });
    const bare = await expectFerryError(
      runOptimize(t.depsWith(newSeen()), { ...quantize, model: 'bare/1' }),
      ErrorCode.OPTIMIZE_INVALID,
    );
    expect(bare.message).toContain('--eval-loc');
    const moved = await expectFerryError(
      runOptimize(t.depsWith(newSeen()), { ...quantize, model: 'moved/1' }),
      ErrorCode.OPTIMIZE_INVALID,
    );
    expect(moved.message).toContain('changed since');
    await t.registry.register('gone', bytes, {
      kind: version.kind,
      params: {},
      metrics: {},
      dataset: { ...version.dataset, source: join(t.dir, 'nowhere.csv') },
      signature: version.signature,
    });
    const gone = await expectFerryError(
      runOptimize(t.depsWith(newSeen()), { ...quantize, model: 'gone/1' }),
      ErrorCode.DATA_NOT_FOUND,
    );
    expect(gone.message).toContain('named by the dataset record of gone/1');
    expect((await t.registry.list('gone')).length).toBe(1);
    expect((await t.registry.list('bare')).length).toBe(1);
    expect((await t.registry.list('moved')).length).toBe(1);
    // With --eval-loc (rows it was not trained on) the same parent can be optimized.
    const evalLoc = join(t.dir, 'eval.csv');
    await writeCsv(evalLoc, t.parent.outcome.heldOut.rows);
    const seen = newSeen();
    await runOptimize(t.depsWith(seen), { ...quantize, model: 'bare/1', evalLoc });
    expect(seen.evalSets[0]).toMatchObject({ source: evalLoc, seenInTraining: false });
  });
});
