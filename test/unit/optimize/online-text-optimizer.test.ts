import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { decodeModel } from '../../../src/model/codec.js';
import { OnlineTextClassifier } from '../../../src/model/kinds/online-text/online-text-classifier.js';
import { onlineTextOptimizer } from '../../../src/optimize/online-text-optimizer.js';
import type { OptimizeContext } from '../../../src/optimize/optimize-types.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';

const ctx: OptimizeContext = { training: null, seed: 1, cacheDir: '/nonexistent' };
const TOPICS: Record<string, string[]> = {
  vision: ['image', 'pixels', 'convolution', 'detection', 'segmentation', 'camera'],
  language: ['text', 'tokens', 'translation', 'transformer', 'sentiment', 'words'],
  ops: ['deployment', 'monitoring', 'pipeline', 'docker', 'kubernetes', 'serving'],
};

function learned(): OnlineTextClassifier {
  const model = OnlineTextClassifier.create({ bits: 12 });
  for (let round = 0; round < 20; round++) {
    for (const [label, words] of Object.entries(TOPICS)) {
      const pick = (k: number) => words[(round * 7 + k * 3) % words.length]!;
      model.learnOne(
        { title: `${pick(0)} ${pick(1)}`, description: `${pick(2)} and ${pick(3)} work` },
        label,
      );
    }
  }
  return model;
}

describe('magnitude pruning of an online model', () => {
  it('zeroes the smallest weights, keeps the largest exactly, and the artifact shrinks', async () => {
    const parent = learned();
    const before = parent.storedWeights();
    const result = await onlineTextOptimizer.prune!(
      parent.toArtifact(),
      { method: 'magnitude', sparsity: 0.8, fineTune: false },
      ctx,
    );
    expect(result.kind).toBe(parent.kind);
    expect(result.artifact.length).toBeLessThan(parent.toArtifact().length);
    const pruned = decodeModel(result.artifact) as OnlineTextClassifier;
    const after = pruned.storedWeights();
    const kept = after.weights.filter((w) => w !== 0).length;
    expect(kept).toBe(before.weights.length - Math.round(0.8 * before.weights.length));
    // Every surviving weight is one of the parent's, unchanged, and no zeroed one beats it.
    const smallestKept = Math.min(
      ...Array.from(after.weights)
        .filter((w) => w !== 0)
        .map(Math.abs),
    );
    const parentByBucket = new Map<number, number>();
    for (const [r, b] of before.buckets.entries()) parentByBucket.set(b, r);
    const K = parent.classes.length;
    after.buckets.forEach((b, r) => {
      const p = parentByBucket.get(b)!;
      for (let c = 0; c < K; c++) {
        const w = after.weights[r * K + c]!;
        if (w !== 0) expect(w).toBe(before.weights[p * K + c]);
        else expect(Math.abs(before.weights[p * K + c]!)).toBeLessThanOrEqual(smallestKept);
      }
    });
    expect(after.bias).toEqual(before.bias);
    expect(
      pruned.predictBatch([{ title: 'image pixels', description: 'camera detection' }])[0]!.prediction,
    ).toBe('vision');
  });

  it('refuses what it cannot do: structured pruning, fine-tuning, a sparsity outside (0, 1)', async () => {
    const artifact = learned().toArtifact();
    await expectFerryError(
      onlineTextOptimizer.prune!(artifact, { method: 'structured', keepFeatures: 10, fineTune: false }, ctx),
      ErrorCode.OPTIMIZE_UNSUPPORTED,
    );
    await expectFerryError(
      onlineTextOptimizer.prune!(artifact, { method: 'magnitude', sparsity: 0.5, fineTune: true }, ctx),
      ErrorCode.OPTIMIZE_UNSUPPORTED,
    );
    await expectFerryError(
      onlineTextOptimizer.prune!(artifact, { method: 'magnitude', sparsity: 1, fineTune: false }, ctx),
      ErrorCode.OPTIMIZE_INVALID,
    );
  });
});
