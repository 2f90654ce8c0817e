import { seededRandom } from '../core/random.js';
import {
  type Datatype,
  elementCount,
  integerRange,
  isBatchable,
  type NamedTensors,
  type Signature,
  type Tensor,
} from './tensor.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Integers are drawn from their datatype's range cut to this, so that they read like features. */
const SMALL_INT = 100;

function value(datatype: Datatype, random: () => number): number | boolean | string {
  if (datatype === 'BOOL') return random() < 0.5;
  if (datatype === 'BYTES') {
    const n = 3 + Math.floor(random() * 6);
    let s = '';
    for (let i = 0; i < n; i++) s += LETTERS[Math.floor(random() * LETTERS.length)];
    return s;
  }
  if (datatype === 'FP32') return Math.fround(random() * 2 - 1);
  if (datatype === 'FP64') return random() * 2 - 1;
  const [min, max] = integerRange(datatype)!;
  const lo = Math.max(min, -SMALL_INT);
  const hi = Math.min(max, SMALL_INT);
  return lo + Math.floor(random() * (hi - lo + 1));
}

/**
 * Inputs that fit a signature, the same for the same seed. Batchable: `rows` rows, and 3 for any
 * other variable dimension; not batchable: 1 for every variable dimension (such a model may take
 * one item per call only). Values in range for their datatype, short words for BYTES.
 */
export function generateInputs(signature: Signature, seed: number, rows: number): NamedTensors {
  const random = seededRandom(seed);
  const batchable = isBatchable(signature);
  const dim = (d: number, i: number): number => (d !== -1 ? d : !batchable ? 1 : i === 0 ? rows : 3);
  return Object.fromEntries(
    signature.inputs.map((spec): [string, Tensor] => {
      const shape = spec.shape.map(dim);
      const data = Array.from({ length: elementCount(shape) }, () => value(spec.datatype, random));
      return [spec.name, { datatype: spec.datatype, shape, data: data as Tensor['data'] }];
    }),
  );
}
