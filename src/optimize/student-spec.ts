import { ErrorCode, FerryError } from '../core/errors.js';
import type { StudentSpec } from './optimize-types.js';

/** Bounds: longer n-grams cost hashing time for little signal; the buckets bound the student's memory. */
const MAX_STUDENT_NGRAM = 5;
const MIN_BUCKET_BITS = 10;
const MAX_BUCKET_BITS = 22;
const DEFAULT_WORD_NGRAMS: [number, number] = [1, 2];
const DEFAULT_CHAR_NGRAMS: [number, number] = [3, 5];

const ACCEPTED =
  'word, word:MIN-MAX, char, char:MIN-MAX, hashed:2^B, hashed:N, hashed:2^B:MIN-MAX ' +
  `(n-grams within 1..${MAX_STUDENT_NGRAM}; buckets a power of two from 2^${MIN_BUCKET_BITS} to 2^${MAX_BUCKET_BITS}; ` +
  'e.g. word:1-2, char:3-4, hashed:2^18, hashed:262144:1-2)';

function invalid(text: string, why: string): FerryError {
  return new FerryError(
    ErrorCode.OPTIMIZE_INVALID,
    `student ${JSON.stringify(text)}: ${why}; accepted forms: ${ACCEPTED}`,
  );
}

function parseRange(text: string, part: string): [number, number] {
  const m = /^(\d{1,2})-(\d{1,2})$/u.exec(part);
  if (!m) throw invalid(text, `n-gram range ${JSON.stringify(part)} is not MIN-MAX`);
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min < 1 || max > MAX_STUDENT_NGRAM || min > max)
    throw invalid(text, `n-gram range ${part} is not within 1..${MAX_STUDENT_NGRAM} with MIN <= MAX`);
  return [min, max];
}

function parseBuckets(text: string, part: string): number {
  const power = /^2\^(\d{1,2})$/u.exec(part);
  const buckets = power ? 2 ** Number(power[1]) : /^\d{1,8}$/u.test(part) ? Number(part) : Number.NaN;
  const bits = Math.log2(buckets);
  if (!Number.isInteger(bits) || bits < MIN_BUCKET_BITS || bits > MAX_BUCKET_BITS)
    throw invalid(
      text,
      `buckets ${JSON.stringify(part)} is not a power of two from 2^${MIN_BUCKET_BITS} to 2^${MAX_BUCKET_BITS}`,
    );
  return buckets;
}

/** Parses `--student`: `word`, `word:1-2`, `char:3-4`, `hashed:2^18`, `hashed:262144`, `hashed:2^18:1-2`. */
export function parseStudentSpec(text: string): StudentSpec {
  const parts = text.trim().split(':');
  const [type, ...rest] = parts;
  if (type === 'word' || type === 'char') {
    if (rest.length > 1) throw invalid(text, 'too many parts');
    const ngrams =
      rest[0] === undefined
        ? type === 'word'
          ? DEFAULT_WORD_NGRAMS
          : DEFAULT_CHAR_NGRAMS
        : parseRange(text, rest[0]);
    return { type, ngrams: [ngrams[0], ngrams[1]] };
  }
  if (type === 'hashed') {
    if (rest.length < 1 || rest.length > 2)
      throw invalid(text, 'hashed needs its buckets, and optionally word n-grams');
    const buckets = parseBuckets(text, rest[0]!);
    const ngrams = rest[1] === undefined ? DEFAULT_WORD_NGRAMS : parseRange(text, rest[1]);
    return { type, buckets, ngrams: [ngrams[0], ngrams[1]] };
  }
  throw invalid(text, `unknown student type ${JSON.stringify(type ?? '')}`);
}

/** The spec written back as text (details and lineage). */
export function formatStudentSpec(spec: StudentSpec): string {
  const range = `${spec.ngrams[0]}-${spec.ngrams[1]}`;
  return spec.type === 'hashed' ? `hashed:2^${Math.log2(spec.buckets)}:${range}` : `${spec.type}:${range}`;
}
