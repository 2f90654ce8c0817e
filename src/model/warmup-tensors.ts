import { integerRange, type NamedTensors, type Signature, type Tensor, type TensorData } from './tensor.js';

/**
 * Inputs made up from a signature, to warm a model up before it serves: every variable dimension
 * 1, numbers 0 (or the datatype's minimum when 0 is out of range), false, and "warm-up" text.
 */
export function warmupTensors(signature: Signature): NamedTensors {
  const out: Record<string, Tensor> = {};
  for (const spec of signature.inputs) {
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    let data: TensorData;
    if (spec.datatype === 'BYTES') data = new Array<string>(n).fill('warm-up');
    else if (spec.datatype === 'BOOL') data = new Array<boolean>(n).fill(false);
    else data = new Array<number>(n).fill(Math.max(0, integerRange(spec.datatype)?.[0] ?? 0));
    out[spec.name] = { datatype: spec.datatype, shape, data };
  }
  return out;
}
