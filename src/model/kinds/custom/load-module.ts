import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FerryError, isFerryError } from '../../../core/errors.js';
import { ownField } from '../../artifact-fields.js';
import { checkSignature, type Signature } from '../../tensor.js';
import { callWithTimeout } from './call-timeout.js';
import { CUSTOM_MODEL_BRAND, type CustomModelInstance } from './define-model.js';
import type { UnpackedBundle } from './unpack.js';

/** A module's definition, checked: the signature parsed, `load` a function. */
export interface LoadedDefinition {
  readonly signature: Signature;
  readonly classes: readonly string[];
  load(dir: string): Promise<CustomModelInstance> | CustomModelInstance;
}

const MAX_MESSAGE = 1000;
const MAX_CLASSES = 100_000;

/**
 * The message of something user code threw, fit for an API answer: no stack, and the unpacked
 * directory's absolute path (the cache's location) cut out, so a module reads as its relative name.
 */
export function userMessage(e: unknown, bundle: UnpackedBundle): string {
  const raw = e instanceof Error ? e.message : String(e);
  const dirUrl = pathToFileURL(bundle.dir).href;
  const text = raw
    .replaceAll(`${dirUrl}/`, '')
    .replaceAll(dirUrl, '.')
    .replaceAll(`${bundle.dir}/`, '')
    .replaceAll(bundle.dir, '.');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function loadFailed(bundle: UnpackedBundle, message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_LOAD_FAILED, `custom model ${bundle.entry}: ${message}`, {
    details: { module: bundle.entry },
  });
}

function checkClasses(value: unknown, bundle: UnpackedBundle): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_CLASSES || !value.every((c) => typeof c === 'string')) {
    throw loadFailed(bundle, `"classes" must be an array of at most ${MAX_CLASSES} strings`);
  }
  return [...value];
}

/**
 * Imports the bundle's entry module and checks its default export: MODEL_LOAD_FAILED when the
 * module throws or does not export `defineModel(...)`, MODEL_INVALID_SIGNATURE when its signature
 * is wrong, MODEL_TIMEOUT when its top-level code does not finish. Node caches the module by its
 * URL: a bundle's module code runs once per process, however many times it is opened (the
 * directory is content-addressed, so the cache is never stale).
 */
export async function importDefinition(bundle: UnpackedBundle, timeoutMs: number): Promise<LoadedDefinition> {
  const url = pathToFileURL(join(bundle.dir, bundle.entry)).href;
  let mod: unknown;
  try {
    mod = await callWithTimeout(() => import(/* @vite-ignore */ url), timeoutMs, `importing ${bundle.entry}`);
  } catch (e) {
    if (isFerryError(e, ErrorCode.MODEL_TIMEOUT)) throw e;
    throw loadFailed(bundle, `the module failed to import: ${userMessage(e, bundle)}`);
  }
  const def = ownField(mod, 'default');
  const load = ownField(def, 'load');
  if (ownField(def, CUSTOM_MODEL_BRAND) !== 1 || typeof load !== 'function') {
    throw loadFailed(bundle, 'module does not export default defineModel(...)');
  }
  const signature = checkSignature(ownField(def, 'signature'));
  const classes = checkClasses(ownField(def, 'classes'), bundle);
  return { signature, classes, load: (dir) => load.call(def, dir) };
}

/** Calls the definition's `load(dir)`: MODEL_LOAD_FAILED with the author's message when it throws. */
export async function loadInstance(
  def: LoadedDefinition,
  bundle: UnpackedBundle,
  timeoutMs: number,
): Promise<CustomModelInstance> {
  let instance: unknown;
  try {
    instance = await callWithTimeout(() => def.load(bundle.dir), timeoutMs, `${bundle.entry} load(dir)`);
  } catch (e) {
    if (isFerryError(e, ErrorCode.MODEL_TIMEOUT)) throw e;
    throw loadFailed(bundle, `load(dir) failed: ${userMessage(e, bundle)}`);
  }
  // A class instance is fine here: predictBatch may come from its prototype.
  if (
    typeof instance !== 'object' ||
    instance === null ||
    typeof (instance as Partial<CustomModelInstance>).predictBatch !== 'function'
  ) {
    throw loadFailed(bundle, 'load(dir) must return an object with a predictBatch(inputs) method');
  }
  return instance as CustomModelInstance;
}
