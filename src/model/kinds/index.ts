import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Model } from '../model.js';
import { customKind } from './custom/custom-kind.js';
import type { KindContext, ModelKind, OpenContext } from './model-kind.js';
import { onlineTextKind } from './online-text/online-text-kind.js';
import { onnxKind } from './onnx/onnx-kind.js';
import { remoteV2Kind } from './remote-v2/remote-v2-kind.js';
import { textClassifierKind } from './text-classifier-kind.js';

/**
 * Every model kind Ferry can open. A Map, not an object, so that a kind such as "constructor" or
 * "__proto__" cannot reach a function of Object.prototype.
 */
const KINDS: readonly ModelKind[] = [textClassifierKind, onnxKind, customKind, remoteV2Kind, onlineTextKind];

const BY_NAME = new Map<string, ModelKind>();
for (const k of KINDS) {
  BY_NAME.set(k.kind, k);
  for (const a of k.aliases ?? []) BY_NAME.set(a, k);
}

/** The kinds' names as users type them (the first alias when there is one). */
export function kindNames(): string[] {
  return KINDS.map((k) => k.aliases?.[0] ?? k.kind);
}

/** A stored kind as users type it (`text-classifier` for the built-in one's stored name); unknown kinds as they are. */
export function kindLabel(kind: string): string {
  const found = BY_NAME.get(kind);
  return found ? (found.aliases?.[0] ?? found.kind) : kind;
}

export function modelKind(kind: string): ModelKind {
  const found = BY_NAME.get(kind);
  if (!found) {
    throw new FerryError(
      ErrorCode.MODEL_UNKNOWN_KIND,
      `unknown model kind ${JSON.stringify(kind.slice(0, 200))}; known: ${kindNames().join(', ')}`,
    );
  }
  return found;
}

export function openModel(kind: string, artifact: Uint8Array, ctx: OpenContext): Promise<Model> {
  return modelKind(kind).open(artifact, ctx);
}

export async function verifyArtifact(kind: string, artifact: Uint8Array, ctx: KindContext): Promise<void> {
  const k = modelKind(kind);
  if (k.verify) return k.verify(artifact, ctx);
  const model = await k.open(artifact, { ...ctx, sha256: '' });
  await model.close?.();
}

export type { KindContext, ModelKind, OpenContext } from './model-kind.js';
