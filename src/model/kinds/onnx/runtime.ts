import { ErrorCode, FerryError } from '../../../core/errors.js';

/** The onnxruntime-node module, as a type only: importing it for its value would load the native library. */
export type OrtModule = typeof import('onnxruntime-node');
export type OrtSession = import('onnxruntime-node').InferenceSession;
export type OrtTensor = import('onnxruntime-node').Tensor;
export type OrtValueMetadata = import('onnxruntime-node').InferenceSession.ValueMetadata;

export const ONNX_RUNTIME_PACKAGE = 'onnxruntime-node';

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Imports onnxruntime-node (an optional dependency) the first time it is needed, so a server that
 * never opens an ONNX model never loads the native library. The specifier is a parameter so a test
 * can name a package that does not exist.
 */
export function runtimeLoader(specifier: string): () => Promise<OrtModule> {
  let loading: Promise<OrtModule> | undefined;
  return () => {
    loading ??= load(specifier).catch((e: unknown) => {
      // Not kept: a failed import is answered the same way each time, and the next attempt retries.
      loading = undefined;
      throw e;
    });
    return loading;
  };
}

async function load(specifier: string): Promise<OrtModule> {
  let mod: Partial<OrtModule> & { default?: Partial<OrtModule> };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (e) {
    // The error of a native library that fails to load names files on this machine: kept as cause
    // for the logs, not put in the message.
    const message = isNotFound(e)
      ? `the onnx model kind needs the optional package ${specifier}, which is not installed: run \`npm install ${specifier}\``
      : `the optional package ${specifier} is installed but does not load on this platform: reinstall it with \`npm install ${specifier}\``;
    throw new FerryError(ErrorCode.MODEL_BACKEND_MISSING, message, {
      details: { package: specifier },
      cause: e,
    });
  }
  // A CommonJS package: Node exposes its exports both by name and as `default`.
  const ort = mod.InferenceSession ? mod : mod.default;
  if (!ort?.InferenceSession || !ort.Tensor) {
    throw new FerryError(
      ErrorCode.MODEL_BACKEND_MISSING,
      `the package ${specifier} does not export InferenceSession and Tensor: reinstall it with \`npm install ${specifier}\``,
      { details: { package: specifier } },
    );
  }
  return ort as OrtModule;
}
