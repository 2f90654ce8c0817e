import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../../src/model/codec.js';
import { OnlineTextClassifier } from '../../../src/model/kinds/online-text/online-text-classifier.js';
import { onlineTextKind } from '../../../src/model/kinds/online-text/online-text-kind.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import { toyExamples } from './toy.js';

const CTX = { cacheDir: '/nonexistent', callTimeoutMs: 1000 };

function trained(n: number, params = {}): OnlineTextClassifier {
  const m = OnlineTextClassifier.create({ bits: 14, ...params });
  for (const e of toyExamples(0, n)) m.learnOne(e, e.label);
  return m;
}

describe('OnlineTextClassifier', () => {
  it('learns a separable toy problem: progressive errors stop early, unseen texts all right', () => {
    const m = OnlineTextClassifier.create({ bits: 14 });
    const wrong: number[] = [];
    toyExamples(0, 200).forEach((e, i) => {
      if (m.learnOne(e, e.label).predicted !== e.label) wrong.push(i);
    });
    // The first example cannot be right (no class yet); a handful more while it learns, none late.
    expect(wrong[0]).toBe(0);
    expect(wrong.length).toBeLessThan(10);
    expect(Math.max(...wrong)).toBeLessThan(50);
    const unseen = toyExamples(10_000, 100);
    const right = m.predictBatch(unseen).filter((p, i) => p.prediction === unseen[i]!.label).length;
    expect(right).toBe(100);
    expect(m.updates).toBe(200);
  });

  it('is deterministic: the same examples give the same bytes', () => {
    expect(Buffer.from(trained(300).toCheckpoint()).equals(Buffer.from(trained(300).toCheckpoint()))).toBe(
      true,
    );
    expect(Buffer.from(trained(300).toArtifact()).equals(Buffer.from(trained(299).toArtifact()))).toBe(false);
  });

  it('round-trips: the artifact predicts the same; the checkpoint learns on exactly as before', () => {
    const m = trained(150);
    const served = decodeModel(m.toArtifact());
    const probe = toyExamples(5000, 30);
    expect(served.predictBatch(probe)).toEqual(m.predictBatch(probe));
    const restored = decodeModel(m.toCheckpoint()) as OnlineTextClassifier;
    const more = toyExamples(150, 50);
    for (const e of more) {
      restored.learnOne(e, e.label);
      m.learnOne(e, e.label);
    }
    expect(Buffer.from(restored.toCheckpoint()).equals(Buffer.from(m.toCheckpoint()))).toBe(true);
    expect(restored.updates).toBe(200);
  });

  it('grows a class when a new label arrives, and predicts it once learned', () => {
    const m = trained(100);
    expect(m.classes).toEqual(['cats', 'cars']);
    const boats = toyExamples(0, 60, ['boats']);
    const first = m.learnOne(boats[0]!, 'boats');
    expect(first.newClass).toBe(true);
    expect(first.predicted).not.toBe('boats');
    for (const e of boats.slice(1)) m.learnOne(e, 'boats');
    expect(m.classes).toEqual(['cats', 'cars', 'boats']);
    const probe = [...toyExamples(9000, 10, ['boats']), ...toyExamples(9000, 10)];
    expect(m.predictBatch(probe).map((p) => p.prediction)).toEqual(probe.map((p) => p.label));
    // The old classes' weights survived the re-layout of the table.
    const [p] = m.predictBatch([toyExamples(7000, 1)[0]!]);
    expect(Object.keys(p!.probabilities)).toEqual(['cats', 'cars', 'boats']);
  });

  it('stores only the buckets in use (sparse), Float32 in base64', () => {
    const m = trained(200, { bits: 18 });
    const bytes = m.toArtifact();
    // Dense would be 2^18 buckets × 2 classes × 4 bytes × 4/3 (base64) ≈ 2.8 MB.
    expect(bytes.byteLength).toBeLessThan(100_000);
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { tensors: Record<string, { dtype: string }> };
    expect(doc.tensors.weights!.dtype).toBe('float32');
    expect(doc.tensors.sums).toBeUndefined();
  });

  it('the kind: text signature with the class count; refuses one class and a signature override', async () => {
    const inspected = await onlineTextKind.inspect(trained(20).toArtifact(), CTX);
    expect(inspected.signature.outputs.find((o) => o.name === 'probabilities')!.shape).toEqual([-1, 2]);
    const one = OnlineTextClassifier.create({ bits: 8 });
    one.learnOne({ title: 'a b', description: '' }, 'x');
    await expectFerryError(onlineTextKind.inspect(one.toArtifact(), CTX), 'FERRY_MODEL_INVALID_ARTIFACT');
    await expectFerryError(
      onlineTextKind.inspect(trained(20).toArtifact(), CTX, inspected.signature),
      'FERRY_MODEL_INVALID_SIGNATURE',
    );
    const model = await onlineTextKind.open(trained(20).toArtifact(), { ...CTX, sha256: '' });
    const out = await model.infer({
      title: { datatype: 'BYTES', shape: [2], data: ['meow kitten', 'engine brake'] },
      description: { datatype: 'BYTES', shape: [2], data: ['', ''] },
    });
    expect(out.label!.data).toEqual(['cats', 'cars']);
    expect(out.probabilities!.shape).toEqual([2, 2]);
  });

  it('refuses a tampered artifact: indices out of range, wrong block sizes', () => {
    const doc = JSON.parse(new TextDecoder().decode(trained(20, { bits: 8 }).toArtifact())) as Record<
      string,
      unknown
    >;
    const bad = { ...doc, params: { ...(doc.params as object), bits: 4 } };
    expect(() => decodeModel(new TextEncoder().encode(JSON.stringify(bad)))).toThrow(/indices|buckets/);
    const noClasses = { ...doc, classes: ['cats'] };
    expect(() => decodeModel(new TextEncoder().encode(JSON.stringify(noClasses)))).toThrow(/classes|values/);
  });
});
