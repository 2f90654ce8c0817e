/** The contract every servable model meets. Artifacts are data only (JSON + typed arrays), never code. */
export interface TextInput {
  readonly title: string;
  readonly description: string;
}

export interface Prediction {
  readonly prediction: string;
  readonly probabilities: Readonly<Record<string, number>>;
}

export interface TensorSpec {
  readonly name: string;
  readonly datatype: 'BYTES' | 'FP32' | 'INT32';
  readonly shape: readonly number[];
}

export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface Model {
  /** Codec key, stable across versions: picks the decoder for an artifact. */
  readonly kind: string;
  readonly signature: Signature;
  readonly classes: readonly string[];
  /** Batch-first prediction; synchronous because the work is CPU-bound and short. */
  predictBatch(rows: readonly TextInput[]): Prediction[];
  predict(rows: readonly TextInput[]): Promise<Prediction[]>;
  toArtifact(): Uint8Array;
}

export const TEXT_SIGNATURE: Signature = {
  inputs: [
    { name: 'title', datatype: 'BYTES', shape: [-1] },
    { name: 'description', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [
    { name: 'label', datatype: 'BYTES', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, -1] },
  ],
};
