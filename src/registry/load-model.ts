import { loadConfig } from '../core/config.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { decodeModel } from '../model/codec.js';
import { type KindContext, modelKind, openModel } from '../model/kinds/index.js';
import { textClassifierKind } from '../model/kinds/text-classifier-kind.js';
import type { Model, TextModel } from '../model/model.js';
import type { ModelRegistry } from './model-registry.js';
import type { ModelVersion } from './types.js';

/** Resolves a reference, reads and verifies the artifact's checksum, and opens the model with its kind. */
export async function loadModel(
  registry: ModelRegistry,
  ref: string,
  // Default: the settings' cache directory and model timeout (FERRY_CACHE_DIR, FERRY_MODEL_TIMEOUT_MS).
  ctx: KindContext = kindContextOf(loadConfig()),
): Promise<{ version: ModelVersion; model: Model }> {
  const { version, bytes } = await registry.loadArtifact(ref);
  const model = await openModel(version.kind, bytes, {
    ...ctx,
    signature: version.signature ?? undefined,
    sha256: version.artifactSha256,
  });
  return { version, model };
}

/** Where kinds write and how long they may take, from the registry's configuration. */
export function kindContextOf(config: { cacheDir: string; modelTimeoutMs: number }): KindContext {
  return { cacheDir: `${config.cacheDir}/models`, callTimeoutMs: config.modelTimeoutMs };
}

/**
 * A version of the built-in text classifier, for what only text models can do (the course's
 * `predict` and `evaluate`, the promotion gate's same-rows F1): MODEL_WRONG_KIND for other kinds.
 */
export async function loadTextModel(
  registry: ModelRegistry,
  ref: string,
): Promise<{ version: ModelVersion; model: TextModel }> {
  const { version, bytes } = await registry.loadArtifact(ref);
  if (modelKind(version.kind) !== textClassifierKind) {
    throw new FerryError(
      ErrorCode.MODEL_WRONG_KIND,
      `${version.name}/${version.version} is a ${version.kind} model; this works with text-classifier models only ` +
        `(use POST /v2/models/${version.name}/infer, or \`ferry batch predict\`)`,
    );
  }
  return { version, model: decodeModel(bytes) };
}
