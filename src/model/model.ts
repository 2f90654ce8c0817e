import type { NamedTensors, Signature } from './tensor.js';

/**
 * The contract every servable model meets, whatever its kind (the built-in text classifier, an
 * ONNX graph, a custom TypeScript module, a model on a remote Open Inference Protocol server):
 * named input tensors in, named output tensors out, as its signature says.
 *
 * When the signature is batchable (see `isBatchable`), `infer` receives any number of rows stacked
 * along dimension 0 and must answer with the same number of rows in the same order; otherwise it
 * receives exactly one client request at a time.
 */
export interface Model {
  /** The model kind (`text-classifier`, `onnx`, `custom`, `remote-v2`): picks how an artifact opens. */
  readonly kind: string;
  readonly signature: Signature;
  /** Class names when the model is a classifier whose outputs name them; empty otherwise. */
  readonly classes: readonly string[];
  infer(inputs: NamedTensors): Promise<NamedTensors>;
  /** Lets go of what the model holds (a native session, sockets); called once it is no longer served. */
  close?(): Promise<void>;
}

/** The built-in text classifier's item: what the course's `/predict` and the batch CSVs carry. */
export interface TextInput {
  readonly title: string;
  readonly description: string;
}

export interface Prediction {
  readonly prediction: string;
  readonly probabilities: Readonly<Record<string, number>>;
}

/** A text model: the tensor contract plus the course's item-level API, used by training and `/predict`. */
export interface TextModel extends Model {
  /** Batch-first prediction; synchronous because the work is CPU-bound and short. */
  predictBatch(rows: readonly TextInput[]): Prediction[];
  predict(rows: readonly TextInput[]): Promise<Prediction[]>;
  toArtifact(): Uint8Array;
}

export function isTextModel(model: Model): model is TextModel {
  return typeof (model as Partial<TextModel>).predictBatch === 'function';
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
