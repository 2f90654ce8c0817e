import { ErrorCode, FerryError } from '../../core/errors.js';
import { decodeModel } from '../codec.js';
import { TEXT_CLASSIFIER_KIND } from '../text-classifier.js';
import { textSignature } from '../text-tensors.js';
import type { ModelKind } from './model-kind.js';

/** The built-in TF-IDF + logistic regression: a JSON artifact of data only. */
export const textClassifierKind: ModelKind = {
  kind: TEXT_CLASSIFIER_KIND,
  aliases: ['text-classifier'],
  async inspect(artifact, _ctx, override) {
    const model = decodeModel(artifact);
    if (override !== undefined) {
      throw new FerryError(
        ErrorCode.MODEL_INVALID_SIGNATURE,
        'the text classifier has a fixed signature (title, description -> label, probabilities); do not pass one',
      );
    }
    return { signature: textSignature(model.classes), details: { classes: [...model.classes] } };
  },
  async open(artifact) {
    return decodeModel(artifact);
  },
  async verify(artifact) {
    decodeModel(artifact);
  },
};
