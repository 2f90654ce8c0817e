import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { Model } from '../../model.js';
import { checkSignature, type Signature } from '../../tensor.js';
import type { KindContext, ModelKind } from '../model-kind.js';
import { CUSTOM_KIND, customModel } from './custom-model.js';
import { importDefinition, loadInstance } from './load-module.js';
import { unpackBundle } from './unpack.js';

/** Signatures compared in checkSignature's normal form (fixed key order, defaults left out). */
function sameSignature(a: Signature, b: Signature): boolean {
  return JSON.stringify(checkSignature(a)) === JSON.stringify(checkSignature(b));
}

function mismatch(what: string): FerryError {
  return new FerryError(
    ErrorCode.MODEL_INVALID_SIGNATURE,
    `${what} differs from the one the custom module declares; a custom model's signature is its module's (leave it out, or make them equal)`,
  );
}

async function openCustom(artifact: Uint8Array, ctx: KindContext): Promise<Model> {
  const bundle = await unpackBundle(artifact, ctx.cacheDir);
  const def = await importDefinition(bundle, ctx.callTimeoutMs);
  const instance = await loadInstance(def, bundle, ctx.callTimeoutMs);
  return customModel(def, instance, bundle, ctx.callTimeoutMs);
}

/**
 * A JavaScript module written with `defineModel`, bundled with the files it reads (bundle.ts),
 * unpacked into the cache and imported at open. The module runs in Ferry's process with Ferry's
 * rights: registering one is running code, as with any plug-in.
 */
export const customKind: ModelKind = {
  kind: CUSTOM_KIND,
  async inspect(artifact, ctx, override) {
    const model = await openCustom(artifact, ctx);
    try {
      if (override !== undefined && !sameSignature(override, model.signature)) {
        throw mismatch('the signature given');
      }
      return {
        signature: model.signature,
        details: model.classes.length > 0 ? { classes: [...model.classes] } : {},
      };
    } finally {
      await model.close?.();
    }
  },
  async open(artifact, ctx) {
    const model = await openCustom(artifact, ctx);
    if (ctx.signature !== undefined && !sameSignature(ctx.signature, model.signature)) {
      await model.close?.();
      throw mismatch('the signature stored with the version');
    }
    return model;
  },
  async verify(artifact, ctx) {
    // Cheap: the bundle unpacks and its module imports and exports a valid definition; load(dir),
    // which may read large weights, runs at open.
    await importDefinition(await unpackBundle(artifact, ctx.cacheDir), ctx.callTimeoutMs);
  },
};
