import type { NamedTensors, Signature } from '../../tensor.js';
import { checkSignature } from '../../tensor.js';

/** What a custom model's `load(dir)` returns: the loaded model, ready to predict. */
export interface CustomModelInstance {
  /**
   * Named input tensors in, named output tensors out, as the signature says. For a batchable
   * signature the inputs hold any number of rows stacked along dimension 0, and the outputs must
   * hold as many, in the same order. Ferry checks the outputs against the signature.
   */
  predictBatch(inputs: NamedTensors): Promise<NamedTensors> | NamedTensors;
  /** Lets go of what the instance holds; called once the version is no longer served. */
  close?(): Promise<void> | void;
}

/** A custom model module's default export, as written by its author (see `defineModel`). */
export interface CustomModelDefinition {
  readonly signature: Signature;
  /** Class names when the model is a classifier whose outputs name them. */
  readonly classes?: readonly string[];
  /**
   * Opens the model. `dir` is the directory the module's bundle was unpacked to: read weights from
   * files next to the module there. Called once per opened version.
   */
  load(dir: string): Promise<CustomModelInstance> | CustomModelInstance;
}

/**
 * The marker Ferry recognises a definition by: a plain property, not a symbol or a class, because
 * the module may get `defineModel` from another copy of Ferry than the one that loads it (its own
 * node_modules, or the stand-in Ferry writes next to unpacked bundles, see DEFINE_MODEL_STAND_IN).
 */
export const CUSTOM_MODEL_BRAND = '__ferryCustomModel';

export type DefinedCustomModel = CustomModelDefinition & { readonly [CUSTOM_MODEL_BRAND]: 1 };

/**
 * Declares a custom model: `export default defineModel({ signature, load })` in an ES module. The
 * signature is checked here, so a wrong one fails where it is written (MODEL_INVALID_SIGNATURE);
 * Ferry checks the definition again when it loads the module.
 */
export function defineModel(definition: CustomModelDefinition): DefinedCustomModel {
  if (typeof definition !== 'object' || definition === null || typeof definition.load !== 'function') {
    throw new TypeError('defineModel expects { signature, load(dir) }');
  }
  const signature = checkSignature(definition.signature);
  return Object.freeze({ ...definition, signature, [CUSTOM_MODEL_BRAND]: 1 as const });
}

/**
 * The `ferry` package Ferry writes beside unpacked bundles (`<cacheDir>/custom/node_modules/ferry`),
 * so that a module's `import { defineModel } from 'ferry'` resolves wherever the cache is, without
 * Ferry being installed there. It only brands the definition (keep it in step with `defineModel`
 * above); the loader does every check. A module may import nothing else from 'ferry'.
 */
export const DEFINE_MODEL_STAND_IN = `// Written by Ferry: the defineModel that custom model bundles unpacked here import from 'ferry'.
export function defineModel(definition) {
  if (typeof definition !== 'object' || definition === null || typeof definition.load !== 'function') {
    throw new TypeError('defineModel expects { signature, load(dir) }');
  }
  return Object.freeze({ ...definition, ${CUSTOM_MODEL_BRAND}: 1 });
}
`;
