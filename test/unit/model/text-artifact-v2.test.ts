/**
 * Issue 13: format version 2 of the text classifier (optimized heads, gzipped). It round-trips
 * exactly; format 1 (dense) is unchanged; a corrupt, truncated, oversized or bomb artifact is
 * MODEL_INVALID_ARTIFACT, never a crash or an unbounded allocation.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import { artifactDocumentBytes, decodeModel, MAX_INFLATED_ARTIFACT_BYTES } from '../../../src/model/codec.js';
import { Float16Head } from '../../../src/model/heads/float16-head.js';
import { Int8Head } from '../../../src/model/heads/int8-head.js';
import { SparseHead } from '../../../src/model/heads/sparse-head.js';
import { inferDf } from '../../../src/model/text-artifact-v2.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { pruneMagnitude } from '../../../src/optimize/prune-magnitude.js';
import { quantizeTextClassifier } from '../../../src/optimize/quantize.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const parent = TextClassifier.fit(
  sample.rows,
  sample.rows.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const variants: [string, TextClassifier][] = [
  ['int8', quantizeTextClassifier(parent, { dtype: 'int8' }).model],
  ['float16', quantizeTextClassifier(parent, { dtype: 'float16' }).model],
  ['sparse-f32', pruneMagnitude(parent, 0.8).model],
  ['sparse-f32 (empty features dropped)', pruneMagnitude(parent, 0.8, { dropEmptyFeatures: true }).model],
];
const inputs = sample.rows.slice(0, 40);

type Doc = Record<string, unknown>;
const int8 = variants[0]![1];
const sparse = variants[2]![1];
const docOf = (m: TextClassifier): Doc => JSON.parse(gunzipSync(m.toArtifact()).toString('utf8')) as Doc;
const gz = (doc: unknown): Uint8Array => gzipSync(JSON.stringify(doc));
function mutated(model: TextClassifier, fn: (doc: Doc) => void): Uint8Array {
  const doc = docOf(model);
  fn(doc);
  return gz(doc);
}
const head = (d: Doc) => d.head as Record<string, Doc>;
const invalid = (bytes: Uint8Array) =>
  expectFerryErrorSync(() => decodeModel(bytes), 'FERRY_MODEL_INVALID_ARTIFACT');

describe('text classifier format 2', () => {
  it.each(variants)(
    '%s: gzipped v2 that decodes to the same head and the same probabilities',
    (storage, model) => {
      const bytes = model.toArtifact();
      expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
      expect(docOf(model).formatVersion).toBe(2);
      const back = decodeModel(bytes) as TextClassifier;
      expect(back.head.storage).toBe(storage.split(' ')[0]);
      expect(back.head.denseWeights()).toEqual(model.head.denseWeights());
      expect(back.tfidf.hashes).toEqual(model.tfidf.hashes);
      expect(back.tfidf.idf).toEqual(model.tfidf.idf);
      expect(back.tfidf.wordFeatures).toBe(model.tfidf.wordFeatures);
      for (const row of inputs) expect(back.probabilities(row)).toEqual(model.probabilities(row));
      expect(back.toArtifact()).toEqual(bytes);
    },
  );

  it('keeps the heads in their storage once loaded', () => {
    expect((decodeModel(int8.toArtifact()) as TextClassifier).head).toBeInstanceOf(Int8Head);
    expect((decodeModel(sparse.toArtifact()) as TextClassifier).head).toBeInstanceOf(SparseHead);
    expect((decodeModel(variants[1]![1].toArtifact()) as TextClassifier).head).toBeInstanceOf(Float16Head);
  });

  it('stores the idf as document frequencies only when they reproduce every float32 idf exactly', () => {
    const inferred = inferDf(parent.tfidf.idf, parent.params.minDf);
    expect(inferred?.documents).toBe(sample.rows.length);
    expect(Object.keys(docOf(int8).idf as Doc)).toEqual(['documents', 'df']);
    // An idf no (n, df) reproduces travels as float32 values, still exact.
    const odd = Float32Array.from(parent.tfidf.idf);
    odd[0] = odd[0]! + 1e-3;
    const oddModel = int8.withHead(int8.head, { ...parent.tfidf, idf: odd });
    expect(Object.keys(docOf(oddModel).idf as Doc)).toEqual(['values']);
    expect((decodeModel(oddModel.toArtifact()) as TextClassifier).tfidf.idf).toEqual(odd);
  });
});

describe('format 1 is unchanged', () => {
  it('a dense model writes plain JSON format 1, which decodes and writes the same bytes again', () => {
    const bytes = parent.toArtifact();
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as Doc;
    expect(doc.formatVersion).toBe(1);
    expect(Object.keys(doc)).toEqual([
      'format',
      'formatVersion',
      'kind',
      'signature',
      'classes',
      'params',
      'wordFeatures',
      'tensors',
    ]);
    const back = decodeModel(bytes) as TextClassifier;
    expect(back.head.storage).toBe('dense-f32');
    expect(back.toArtifact()).toEqual(bytes);
  });
});

describe('untrusted format 2 artifacts', () => {
  const bytes = int8.toArtifact();

  it('refuses corrupt and truncated gzip', () => {
    const flipped = Uint8Array.from(bytes);
    for (let i = 20; i < flipped.length; i += 97) flipped[i] = flipped[i]! ^ 0x5a;
    invalid(flipped);
    invalid(bytes.subarray(0, bytes.length - 10));
    invalid(bytes.subarray(0, 2));
    invalid(gzipSync(Buffer.from([0xff, 0xfe, 0x00]))); // inflates, but not UTF-8 JSON
  });

  it('refuses a gzip bomb before inflating beyond the bound', () => {
    // Concatenated gzip members inflate to their sum: 17 × 16 MiB of zeros > 256 MiB, from ~270 KB.
    const member = gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 17 }, () => member));
    expect(17 * 16 * 2 ** 20).toBeGreaterThan(MAX_INFLATED_ARTIFACT_BYTES);
    invalid(bomb);
    expectFerryErrorSync(
      () => artifactDocumentBytes(gzipSync(Buffer.alloc(4096)), 1024),
      'FERRY_MODEL_INVALID_ARTIFACT',
    );
  });

  it.each<[string, (d: Doc) => void]>([
    [
      'format version 3',
      (d) => {
        d.formatVersion = 3;
      },
    ],
    ['no head', (d) => void delete d.head],
    [
      'an unknown storage',
      (d) => {
        head(d).storage = 'int4' as unknown as Doc;
      },
    ],
    [
      'more features than hash bytes',
      (d) => {
        (d.vocabulary as Doc).features = 10 ** 9;
      },
    ],
    [
      'wordFeatures beyond the features',
      (d) => {
        (d.vocabulary as Doc).wordFeatures = 10 ** 6;
      },
    ],
    [
      'a float as feature count',
      (d) => {
        (d.vocabulary as Doc).features = 1.5;
      },
    ],
    [
      'hash deltas cut short',
      (d) => {
        const t = (d.vocabulary as Record<string, Doc>).hashDeltas!;
        t.data = (t.data as string).slice(0, -8);
      },
    ],
    [
      'int8 values of the wrong length',
      (d) => {
        const t = head(d).values!;
        t.length = (t.length as number) - 3;
        t.data = Buffer.from(t.data as string, 'base64')
          .subarray(3)
          .toString('base64');
      },
    ],
    [
      'a non-finite scale',
      (d) => {
        const s = Buffer.from(head(d).scales!.data as string, 'base64');
        s.writeFloatLE(Number.NaN, 0);
        head(d).scales!.data = s.toString('base64');
      },
    ],
    [
      'a declared tensor length beyond the bound',
      (d) => {
        head(d).values!.length = 2 ** 40;
      },
    ],
    [
      'a bias of the wrong length',
      (d) => {
        head(d).bias = { dtype: 'float32', length: 1, data: 'AAAAAA==' };
      },
    ],
    [
      'df beyond the document count',
      (d) => {
        (d.idf as Doc).documents = 1;
      },
    ],
    [
      'a negative document count',
      (d) => {
        (d.idf as Doc).documents = -5;
      },
    ],
  ])('refuses %s', (_name, fn) => {
    invalid(mutated(int8, fn));
  });

  it.each<[string, (d: Doc) => void]>([
    [
      'a class index beyond the classes',
      (d) => {
        const t = head(d).classIndex!;
        const b = Buffer.from(t.data as string, 'base64');
        b[0] = 0x7f;
        t.data = b.toString('base64');
      },
    ],
    [
      'counts that do not add up',
      (d) => {
        const t = head(d).counts!;
        const b = Buffer.from(t.data as string, 'base64');
        b[0] = (b[0]! + 1) % 2;
        t.data = b.toString('base64');
      },
    ],
    [
      'fewer values than counts',
      (d) => {
        const t = head(d).values!;
        t.length = (t.length as number) - 1;
        t.data = Buffer.from(t.data as string, 'base64')
          .subarray(4)
          .toString('base64');
      },
    ],
  ])('refuses a sparse head with %s', (_name, fn) => {
    invalid(mutated(sparse, fn));
  });
});

describe('fuzzed format 2 documents', () => {
  it.each([
    ['int8', int8],
    ['sparse-f32', sparse],
  ] as const)(
    '%s: a changed character loads or is refused with a FerryError, never anything else',
    (_s, model) => {
      const text = JSON.stringify(docOf(model));
      const random = seededRandom(13);
      const alphabet = '0123456789abcdefABCDEF+/=-.e"{}[],:nul ';
      for (let round = 0; round < 150; round++) {
        const at = Math.floor(random() * text.length);
        const ch = alphabet[Math.floor(random() * alphabet.length)]!;
        const bytes = gzipSync(text.slice(0, at) + ch + text.slice(at + 1));
        try {
          decodeModel(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(FerryError);
          expect(['FERRY_MODEL_INVALID_ARTIFACT', 'FERRY_MODEL_UNKNOWN_KIND']).toContain(
            (e as FerryError).code,
          );
        }
      }
    },
  );
});

describe('withHead', () => {
  it('refuses a head whose shape does not agree with the vocabulary', () => {
    const wrong = Int8Head.quantize(pruneMagnitude(parent, 0.5, { dropEmptyFeatures: true }).model.head);
    expect(wrong.features).toBeLessThan(parent.featureCount);
    expect(() => parent.withHead(wrong)).toThrow(RangeError);
  });
});
