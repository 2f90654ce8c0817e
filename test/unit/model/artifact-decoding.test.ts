/**
 * Issue 8, item 14: artifacts are untrusted JSON. The decoder reads own properties only (no
 * prototype chain for `kind` or any field) and bounds every decoded parameter before it drives a
 * loop or an allocation; whatever is wrong is MODEL_INVALID_ARTIFACT (or MODEL_UNKNOWN_KIND), never
 * a TypeError that surfaces as FERRY_INTERNAL and never a model that hangs on its first request.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { decodeModel } from '../../../src/model/codec.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const model = TextClassifier.fit(
  sample.rows,
  sample.rows.map((r) => r.tag),
  { ...DEFAULT_PARAMS, charNgrams: [0, 0] },
);
const artifactText = new TextDecoder().decode(model.toArtifact());

type Doc = Record<string, unknown>;
const encode = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));
function mutated(fn: (doc: Doc) => void): Uint8Array {
  const doc = JSON.parse(artifactText) as Doc;
  fn(doc);
  return encode(doc);
}
const params = (d: Doc) => d.params as Doc;
const tensors = (d: Doc) => d.tensors as Record<string, Doc>;

describe('artifact decoding: own properties only', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'a kind of %j is an unknown kind, not a function of Object.prototype',
    (kind) => {
      const bytes = new TextEncoder().encode(
        artifactText.replace(/"kind":"[^"]*"/, `"kind":${JSON.stringify(kind)}`),
      );
      expectFerryErrorSync(() => decodeModel(bytes), ErrorCode.MODEL_UNKNOWN_KIND);
    },
  );

  it('a kind that is not a string, or absent, is an invalid artifact', () => {
    for (const kind of [undefined, 1, null, ['x'], { toString: 'x' }]) {
      expectFerryErrorSync(
        () =>
          decodeModel(
            mutated((d) => {
              if (kind === undefined) delete d.kind;
              else d.kind = kind;
            }),
          ),
        ErrorCode.MODEL_INVALID_ARTIFACT,
      );
    }
  });

  it('fields reached only through "__proto__" do not count', () => {
    // JSON.parse makes "__proto__" an own key; a decoder reading doc.tensors.hashes through the
    // prototype of an empty tensors object would find these.
    const bytes = mutated((d) => {
      const t = tensors(d);
      d.tensors = JSON.parse(`{"__proto__": ${JSON.stringify(t)}}`) as unknown;
    });
    expectFerryErrorSync(() => decodeModel(bytes), ErrorCode.MODEL_INVALID_ARTIFACT);
    expectFerryErrorSync(() => decodeModel(encode([1, 2])), ErrorCode.MODEL_INVALID_ARTIFACT);
  });
});

describe('artifact decoding: every parameter bounded', () => {
  const cases: [string, (d: Doc) => void][] = [
    ['a huge word n-gram range', (d) => (params(d).wordNgrams = [1, 1e9])],
    ['a huge char n-gram range', (d) => (params(d).charNgrams = [3, 2 ** 31])],
    ['an inverted n-gram range', (d) => (params(d).wordNgrams = [3, 1])],
    ['a fractional n-gram', (d) => (params(d).wordNgrams = [1, 2.5])],
    ['a negative n-gram', (d) => (params(d).charNgrams = [-1, 2])],
    ['an n-gram range of three numbers', (d) => (params(d).wordNgrams = [1, 2, 3])],
    ['an n-gram range as an object', (d) => (params(d).wordNgrams = { 0: 1, 1: 2, length: 2 })],
    ['a NaN-like threshold', (d) => (params(d).otherThreshold = 'NaN')],
    ['a threshold above 1', (d) => (params(d).otherThreshold = 2)],
    ['a non-boolean flag', (d) => (params(d).sublinearTf = 'yes')],
    ['an unknown class weighting', (d) => (params(d).classWeight = 'custom')],
    ['params as a string', (d) => (d.params = 'abc')],
    ['a huge other label', (d) => (params(d).otherLabel = 'x'.repeat(10_000))],
    ['repeated classes', (d) => (d.classes = ['a', 'a', 'b', 'c'])],
    ['a class that is not a string', (d) => (d.classes = ['a', 1, 'b', 'c'])],
    ['wordFeatures beyond the hashes', (d) => (d.wordFeatures = 1e12)],
    ['wordFeatures fractional', (d) => (d.wordFeatures = 1.5)],
    ['a tensor declaring 2^40 elements', (d) => (tensors(d).bias!.length = 2 ** 40)],
    ['a tensor declaring a negative length', (d) => (tensors(d).bias!.length = -4)],
    [
      'a tensor whose text is longer than declared',
      (d) => (tensors(d).bias!.data = `${tensors(d).bias!.data as string}AAAA`),
    ],
    ['a tensor of the wrong dtype', (d) => (tensors(d).hashes!.dtype = 'float32')],
    [
      'a weight that is NaN',
      (d) => {
        const b = Buffer.from(tensors(d).bias!.data as string, 'base64');
        b.writeFloatLE(Number.NaN, 0);
        tensors(d).bias!.data = b.toString('base64');
      },
    ],
  ];
  it.each(cases)('%s is MODEL_INVALID_ARTIFACT', (_what, fn) => {
    expectFerryErrorSync(() => decodeModel(mutated(fn)), ErrorCode.MODEL_INVALID_ARTIFACT);
  });

  it('still decodes the genuine artifact to the same predictions', () => {
    const loaded = decodeModel(model.toArtifact());
    expect(loaded.predictBatch(sample.rows.slice(0, 20))).toEqual(
      model.predictBatch(sample.rows.slice(0, 20)),
    );
  });
});
