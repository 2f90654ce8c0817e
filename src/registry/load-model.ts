import { decodeModel } from '../model/codec.js';
import type { TextModel } from '../model/model.js';
import type { ModelRegistry } from './model-registry.js';
import type { ModelVersion } from './types.js';

/** Resolves a reference, reads and verifies the artifact's checksum, and decodes the model. */
export async function loadModel(
  registry: ModelRegistry,
  ref: string,
): Promise<{ version: ModelVersion; model: TextModel }> {
  const { version, bytes } = await registry.loadArtifact(ref);
  return { version, model: decodeModel(bytes) };
}
