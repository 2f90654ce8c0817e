import { boundedInteger, invalidArtifact, isJsonObject, ownField } from './artifact-fields.js';
import { Float16Head } from './heads/float16-head.js';
import { Int8Head } from './heads/int8-head.js';
import { SparseHead } from './heads/sparse-head.js';
import type { LinearHead } from './linear-head.js';
import {
  decodeFloat16,
  decodeFloat32,
  decodeInt8,
  decodeUint8,
  encodeFloat16,
  encodeTensor,
} from './tensor-codec.js';
import type { TfidfOptions, TfidfState } from './tfidf.js';
import { decodeVarints, encodeVarints } from './varint.js';

/*
 * Format version 2 of the text classifier: the optimized heads (int8, sparse, float16) in their own
 * storage and a compact vocabulary. Hashes are sorted within each block (words, then characters), so
 * they travel as varint deltas (about 3 bytes instead of 4 + base64). The idf is
 * ln((1 + n) / (1 + df)) + 1 rounded to float32: when the document frequencies and n reproduce every
 * stored idf bit for bit they are written instead (1-2 bytes a feature), else the float32 values.
 * The whole document is then gzipped by the caller (the base64 of int8 and varints compresses well).
 * A dense float32 head keeps format version 1.
 */

const INT32_OFFSET = 2 ** 31;
/** How far above minDf the rarest feature's df is searched for when inferring n (see inferDf). */
const DF_SEARCH = 64;

export function encodeV2Body(tfidf: TfidfState, head: LinearHead): Record<string, unknown> {
  return { vocabulary: encodeVocabulary(tfidf), idf: encodeIdf(tfidf), head: encodeHead(head) };
}

export function decodeV2Body(
  doc: Record<string, unknown>,
  options: TfidfOptions,
  classes: number,
): { tfidf: TfidfState; head: LinearHead } {
  const { hashes, wordFeatures } = decodeVocabulary(ownField(doc, 'vocabulary'));
  const idf = decodeIdf(ownField(doc, 'idf'), hashes.length);
  const head = decodeHead(ownField(doc, 'head'), hashes.length, classes);
  return { tfidf: { options, hashes, wordFeatures, idf }, head };
}

function encodeVocabulary(tfidf: TfidfState): Record<string, unknown> {
  const { hashes, wordFeatures } = tfidf;
  const deltas = new Float64Array(hashes.length);
  for (let i = 0; i < hashes.length; i++) {
    const blockStart = i === 0 || i === wordFeatures;
    deltas[i] = blockStart ? hashes[i]! + INT32_OFFSET : hashes[i]! - hashes[i - 1]!;
    if (deltas[i]! < 0 || (!blockStart && deltas[i] === 0))
      throw new RangeError('vocabulary hashes are not sorted per block');
  }
  return { features: hashes.length, wordFeatures, hashDeltas: encodeTensor(encodeVarints(deltas)) };
}

function decodeVocabulary(value: unknown): { hashes: Int32Array; wordFeatures: number } {
  if (!isJsonObject(value)) throw invalidArtifact('vocabulary must be an object');
  const bytes = decodeUint8(ownField(value, 'hashDeltas'), 'vocabulary.hashDeltas');
  // Each varint takes at least one byte: the byte count bounds the feature count.
  const features = boundedInteger(ownField(value, 'features'), 'vocabulary.features', 0, bytes.length);
  const wordFeatures = boundedInteger(
    ownField(value, 'wordFeatures'),
    'vocabulary.wordFeatures',
    0,
    features,
  );
  const deltas = decodeVarints(bytes, features, 'vocabulary.hashDeltas');
  const hashes = new Int32Array(features);
  let previous = 0;
  for (let i = 0; i < features; i++) {
    const blockStart = i === 0 || i === wordFeatures;
    const h = blockStart ? deltas[i]! - INT32_OFFSET : previous + deltas[i]!;
    if (h >= INT32_OFFSET || (!blockStart && deltas[i] === 0))
      throw invalidArtifact('vocabulary hashes must be distinct 32-bit values, ascending per block');
    hashes[i] = h;
    previous = h;
  }
  return { hashes, wordFeatures };
}

const idfOf = (n: number, df: number): number => Math.fround(Math.log((1 + n) / (1 + df)) + 1);

/**
 * The training document count n and the per-feature document frequencies that reproduce `idf`
 * exactly through the smoothed formula, or null. The rarest feature (largest idf) fixes n once its
 * df is guessed; a guess is kept only when every feature's idf comes back bit for bit.
 */
export function inferDf(idf: Float32Array, minDf: number): { documents: number; df: Float64Array } | null {
  if (idf.length === 0) return null;
  let top = 0;
  for (let i = 1; i < idf.length; i++) if (idf[i]! > idf[top]!) top = i;
  const ratio = Math.exp(idf[top]! - 1);
  for (let guess = Math.max(1, minDf); guess <= Math.max(1, minDf) + DF_SEARCH; guess++) {
    const n = Math.round(ratio * (1 + guess) - 1);
    if (!(n >= 1 && n < 2 ** 32)) continue;
    const df = new Float64Array(idf.length);
    let exact = true;
    for (let i = 0; i < idf.length && exact; i++) {
      const d = Math.round((1 + n) / Math.exp(idf[i]! - 1) - 1);
      df[i] = d;
      exact = d >= 1 && d <= n && idfOf(n, d) === idf[i];
    }
    if (exact) return { documents: n, df };
  }
  return null;
}

function encodeIdf(tfidf: TfidfState): Record<string, unknown> {
  const inferred = inferDf(tfidf.idf, tfidf.options.minDf);
  if (!inferred) return { values: encodeTensor(tfidf.idf) };
  return { documents: inferred.documents, df: encodeTensor(encodeVarints(inferred.df)) };
}

function decodeIdf(value: unknown, features: number): Float32Array {
  if (!isJsonObject(value)) throw invalidArtifact('idf must be an object');
  let idf: Float32Array;
  if (ownField(value, 'values') !== undefined) {
    idf = decodeFloat32(ownField(value, 'values'), 'idf.values');
  } else {
    const n = boundedInteger(ownField(value, 'documents'), 'idf.documents', 1, 2 ** 32 - 1);
    const df = decodeVarints(decodeUint8(ownField(value, 'df'), 'idf.df'), features, 'idf.df');
    idf = new Float32Array(features);
    for (let i = 0; i < features; i++) {
      if (df[i]! < 1 || df[i]! > n) throw invalidArtifact('idf.df must lie in [1, documents]');
      idf[i] = idfOf(n, df[i]!);
    }
  }
  if (idf.length !== features) throw invalidArtifact('idf has not one value per vocabulary feature');
  return idf;
}

function encodeHead(head: LinearHead): Record<string, unknown> {
  const bias = encodeTensor(head.bias);
  if (head instanceof Int8Head) {
    return {
      storage: head.storage,
      values: encodeTensor(head.values),
      scales: encodeTensor(head.scales),
      bias,
    };
  }
  if (head instanceof SparseHead) {
    const counts = new Float64Array(head.features);
    for (let f = 0; f < head.features; f++) counts[f] = head.rowStart[f + 1]! - head.rowStart[f]!;
    return {
      storage: head.storage,
      counts: encodeTensor(encodeVarints(counts)),
      classIndex: encodeTensor(encodeVarints(head.classIndex)),
      values: encodeTensor(head.values),
      bias,
    };
  }
  if (head instanceof Float16Head) {
    return { storage: head.storage, weights: encodeFloat16(head.denseWeights()), bias };
  }
  throw new RangeError(`format version 2 has no storage "${head.storage}"`);
}

function decodeHead(value: unknown, features: number, classes: number): LinearHead {
  if (!isJsonObject(value)) throw invalidArtifact('head must be an object');
  const storage = ownField(value, 'storage');
  const bias = decodeFloat32(ownField(value, 'bias'), 'head.bias');
  if (bias.length !== classes) throw invalidArtifact('head.bias has not one value per class');
  if (storage === 'int8') {
    const values = decodeInt8(ownField(value, 'values'), 'head.values');
    const scales = decodeFloat32(ownField(value, 'scales'), 'head.scales');
    if (values.length !== features * classes || scales.length !== classes)
      throw invalidArtifact('int8 head shapes do not agree with the vocabulary and classes');
    return new Int8Head(values, scales, bias);
  }
  if (storage === 'float16') {
    const weights = decodeFloat16(ownField(value, 'weights'), 'head.weights');
    if (weights.length !== features * classes)
      throw invalidArtifact('float16 head shape does not agree with the vocabulary and classes');
    return new Float16Head(weights, bias);
  }
  if (storage === 'sparse-f32') return decodeSparse(value, features, bias);
  throw invalidArtifact('head.storage must be "int8", "sparse-f32" or "float16"');
}

function decodeSparse(value: Record<string, unknown>, features: number, bias: Float32Array): SparseHead {
  const classes = bias.length;
  const values = decodeFloat32(ownField(value, 'values'), 'head.values');
  const counts = decodeVarints(
    decodeUint8(ownField(value, 'counts'), 'head.counts'),
    features,
    'head.counts',
  );
  const classIndex = decodeVarints(
    decodeUint8(ownField(value, 'classIndex'), 'head.classIndex'),
    values.length,
    'head.classIndex',
  );
  const rowStart = new Int32Array(features + 1);
  for (let f = 0; f < features; f++) {
    if (counts[f]! > classes) throw invalidArtifact('sparse head: a feature holds more weights than classes');
    rowStart[f + 1] = rowStart[f]! + counts[f]!;
  }
  if (rowStart[features] !== values.length)
    throw invalidArtifact('sparse head: counts do not add up to the values');
  for (let f = 0; f < features; f++) {
    for (let i = rowStart[f]!; i < rowStart[f + 1]!; i++) {
      // Ascending classes within a feature: each class at most once, each index in range.
      if (classIndex[i]! >= classes || (i > rowStart[f]! && classIndex[i]! <= classIndex[i - 1]!))
        throw invalidArtifact(
          'sparse head: class indices must ascend within a feature, below the class count',
        );
    }
  }
  return new SparseHead(rowStart, Uint16Array.from(classIndex), values, bias);
}
