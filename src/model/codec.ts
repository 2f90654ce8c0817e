import { ErrorCode, FerryError } from '../core/errors.js';
import type { Model } from './model.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from './text-classifier.js';

/** Decoders by `kind`: an artifact names its kind, and only known kinds load (data, never code). */
const DECODERS: Record<string, (doc: Record<string, unknown>) => Model> = {
  [TEXT_CLASSIFIER_KIND]: (doc) => TextClassifier.fromArtifactJson(doc),
};

export function decodeModel(bytes: Uint8Array): Model {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, 'model artifact is not valid UTF-8 JSON', {
      cause,
    });
  }
  if (typeof doc !== 'object' || doc === null || (doc as { format?: unknown }).format !== 'ferry-model') {
    throw new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, 'model artifact is not a ferry-model document');
  }
  const kind = String((doc as { kind?: unknown }).kind);
  const decoder = DECODERS[kind];
  if (!decoder) {
    throw new FerryError(
      ErrorCode.MODEL_UNKNOWN_KIND,
      `unknown model kind "${kind}"; known: ${Object.keys(DECODERS).join(', ')}`,
    );
  }
  return decoder(doc as Record<string, unknown>);
}
