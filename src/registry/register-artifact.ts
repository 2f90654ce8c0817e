import { type KindContext, modelKind } from '../model/kinds/index.js';
import { checkSignature } from '../model/tensor.js';
import { assertModelName } from './model-ref.js';
import type { ModelRegistry } from './model-registry.js';
import type { ModelVersion } from './types.js';

export interface RegisterArtifactOptions {
  /** `text-classifier`, `onnx`, `custom`, `remote-v2` (or a kind's stored name). */
  kind: string;
  /** Overrides the signature the kind reads from the artifact (checked against it where the kind can). */
  signature?: unknown;
  tags?: Record<string, string>;
  /** Stored in the version's params beside what the kind found (e.g. `lineage` of an export). */
  params?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  dataset?: Record<string, unknown>;
  gitCommit?: string | null;
}

/**
 * Registers an artifact of any kind: the kind opens it first (a corrupt file, an unsupported ONNX
 * operator, a custom module that throws, a remote server that does not answer: refused here) and
 * gives the signature, which is stored with the version. Nothing is written before that check
 * passes; the write itself is the registry's (blob first, then the row, so a crash between leaves
 * an unreferenced blob, never a version without its artifact).
 */
export async function registerArtifact(
  registry: ModelRegistry,
  name: string,
  artifact: Uint8Array,
  opts: RegisterArtifactOptions,
  ctx: KindContext,
): Promise<ModelVersion> {
  assertModelName(name);
  const kind = modelKind(opts.kind);
  const override = opts.signature === undefined ? undefined : checkSignature(opts.signature);
  const inspected = await kind.inspect(artifact, ctx, override);
  return registry.register(name, artifact, {
    kind: kind.kind,
    params: { ...(inspected.details ?? {}), ...(opts.params ?? {}) },
    metrics: opts.metrics ?? {},
    dataset: opts.dataset ?? {},
    ...(opts.tags ? { tags: opts.tags } : {}),
    ...(opts.gitCommit !== undefined ? { gitCommit: opts.gitCommit } : {}),
    signature: inspected.signature,
  });
}
