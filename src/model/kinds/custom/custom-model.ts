import { ErrorCode, FerryError, isFerryError } from '../../../core/errors.js';
import { checkOutputs } from '../../check-outputs.js';
import type { Model } from '../../model.js';
import { isBatchable, type NamedTensors, rowCount } from '../../tensor.js';
import { callWithTimeout } from './call-timeout.js';
import type { CustomModelInstance } from './define-model.js';
import { type LoadedDefinition, userMessage } from './load-module.js';
import type { UnpackedBundle } from './unpack.js';

export const CUSTOM_KIND = 'custom';

function predictFailed(bundle: UnpackedBundle, message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `custom model ${bundle.entry}: ${message}`, {
    details: { module: bundle.entry },
  });
}

/**
 * A loaded custom module as a Model. Every call into it is bounded by `timeoutMs` (see
 * callWithTimeout for what that cannot stop); what it throws becomes MODEL_PREDICT_FAILED with its
 * message, and what it returns is checked against the signature (check-outputs.ts). The inputs
 * reach it as they are: a module that mutates them changes what the log and the cache see, so
 * authors must not.
 */
export function customModel(
  def: LoadedDefinition,
  instance: CustomModelInstance,
  bundle: UnpackedBundle,
  timeoutMs: number,
): Model {
  const batchable = isBatchable(def.signature);
  let closed = false;
  return {
    kind: CUSTOM_KIND,
    signature: def.signature,
    classes: def.classes,
    async infer(inputs: NamedTensors): Promise<NamedTensors> {
      let raw: unknown;
      try {
        raw = await callWithTimeout(
          () => instance.predictBatch(inputs),
          timeoutMs,
          `custom model ${bundle.entry} predictBatch`,
        );
      } catch (e) {
        if (isFerryError(e, ErrorCode.MODEL_TIMEOUT)) throw e;
        throw predictFailed(bundle, `predictBatch failed: ${userMessage(e, bundle)}`);
      }
      return checkOutputs(raw, def.signature, batchable ? rowCount(inputs) : undefined);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (typeof instance.close !== 'function') return;
      try {
        await callWithTimeout(() => instance.close?.(), timeoutMs, `custom model ${bundle.entry} close`);
      } catch (e) {
        if (isFerryError(e, ErrorCode.MODEL_TIMEOUT)) throw e;
        throw predictFailed(bundle, `close failed: ${userMessage(e, bundle)}`);
      }
    },
  };
}
