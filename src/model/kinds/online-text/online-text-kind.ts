import { ErrorCode, FerryError } from '../../../core/errors.js';
import { invalidArtifact } from '../../artifact-fields.js';
import { decodeModel } from '../../codec.js';
import type { TextModel } from '../../model.js';
import { textSignature } from '../../text-tensors.js';
import type { ModelKind } from '../model-kind.js';
import { ONLINE_TEXT_KIND } from './online-text-classifier.js';

/** A snapshot of the online learner (learning/online/): the built-in classifier's text signature. */
function decodeServable(artifact: Uint8Array): TextModel {
  const model = decodeModel(artifact);
  if (model.kind !== ONLINE_TEXT_KIND)
    throw invalidArtifact(`the artifact is a ${model.kind}, not an ${ONLINE_TEXT_KIND}`);
  if (model.classes.length < 2)
    throw invalidArtifact('an online snapshot needs at least 2 classes to be served');
  return model;
}

export const onlineTextKind: ModelKind = {
  kind: ONLINE_TEXT_KIND,
  async inspect(artifact, _ctx, override) {
    const model = decodeServable(artifact);
    if (override !== undefined) {
      throw new FerryError(
        ErrorCode.MODEL_INVALID_SIGNATURE,
        'the online text classifier has a fixed signature (title, description -> label, probabilities); do not pass one',
      );
    }
    return { signature: textSignature(model.classes), details: { classes: [...model.classes] } };
  },
  async open(artifact) {
    return decodeServable(artifact);
  },
  async verify(artifact) {
    decodeServable(artifact);
  },
};
