/**
 * Symmetric int8 quantization with one scale per class: w ≈ q · scale[class], q in [-127, 127],
 * scale = max |w| of the class / 127 (a class whose weights are all zero gets scale 0). One rule,
 * shared by the int8 head (src/optimize quantize) and the ONNX export, so both round alike.
 */
export function quantizeWeightsInt8(
  weights: Float32Array,
  classes: number,
): { values: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(classes);
  for (let i = 0; i < weights.length; i++) {
    const c = i % classes;
    scales[c] = Math.max(scales[c]!, Math.abs(weights[i]!));
  }
  for (let c = 0; c < classes; c++) scales[c] = scales[c]! / 127;
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const s = scales[i % classes]!;
    values[i] = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(weights[i]! / s)));
  }
  return { values, scales };
}
