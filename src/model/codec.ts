import { gunzipSync } from 'node:zlib';
import { ErrorCode, FerryError } from '../core/errors.js';
import { isJsonObject, ownField } from './artifact-fields.js';
import { ONLINE_TEXT_KIND, OnlineTextClassifier } from './kinds/online-text/online-text-classifier.js';
import type { TextModel } from './model.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from './text-classifier.js';

/**
 * Decoders by `kind`: an artifact names its kind, and only known kinds load (data, never code). A
 * Map, not an object, so that a kind such as "constructor" or "__proto__" cannot reach a function
 * of Object.prototype.
 */
const DECODERS = new Map<string, (doc: Record<string, unknown>) => TextModel>([
  [TEXT_CLASSIFIER_KIND, (doc) => TextClassifier.fromArtifactJson(doc)],
  [ONLINE_TEXT_KIND, (doc) => OnlineTextClassifier.fromArtifactJson(doc)],
]);
const MAX_KIND_LENGTH = 200;

/**
 * The most bytes a gzipped artifact may inflate to (a zip bomb stops here, before its output is
 * allocated further): room for the largest tensors artifacts accept, far above any real model.
 */
export const MAX_INFLATED_ARTIFACT_BYTES = 256 * 2 ** 20;

/** Compact artifacts (text classifier format 2) are a gzipped document; JSON never starts with 0x1f. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The document's bytes: `bytes`, or inflated within `maxBytes` (corrupt or larger: MODEL_INVALID_ARTIFACT). */
export function artifactDocumentBytes(bytes: Uint8Array, maxBytes = MAX_INFLATED_ARTIFACT_BYTES): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (cause) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `model artifact is gzip that does not inflate within ${maxBytes} bytes`,
      { cause },
    );
  }
}

export function decodeModel(bytes: Uint8Array): TextModel {
  let doc: unknown;
  const documentBytes = artifactDocumentBytes(bytes);
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(documentBytes));
  } catch (cause) {
    throw new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, 'model artifact is not valid UTF-8 JSON', {
      cause,
    });
  }
  if (!isJsonObject(doc) || ownField(doc, 'format') !== 'ferry-model') {
    throw new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, 'model artifact is not a ferry-model document');
  }
  const kind = ownField(doc, 'kind');
  if (typeof kind !== 'string') {
    throw new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, 'model artifact names no kind (a string)');
  }
  const decoder = DECODERS.get(kind);
  if (!decoder) {
    throw new FerryError(
      ErrorCode.MODEL_UNKNOWN_KIND,
      `unknown model kind ${JSON.stringify(kind.slice(0, MAX_KIND_LENGTH))}; known: ${[...DECODERS.keys()].join(', ')}`,
    );
  }
  return decoder(doc);
}
