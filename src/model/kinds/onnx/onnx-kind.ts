import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { Model } from '../../model.js';
import { checkOverride } from '../../signature-override.js';
import type { NamedTensors, Signature, Tensor } from '../../tensor.js';
import type { ModelKind } from '../model-kind.js';
import { readModelHeader } from './model-header.js';
import { graphSignature } from './onnx-signature.js';
import { ortMessage } from './ort-message.js';
import { fromOrt, toOrt } from './ort-tensors.js';
import {
  ONNX_RUNTIME_PACKAGE,
  type OrtModule,
  type OrtSession,
  type OrtTensor,
  runtimeLoader,
} from './runtime.js';

const ONNX_KIND = 'onnx';

/**
 * One thread per run, no parallel branches. onnxruntime-node runs a session synchronously on the
 * event loop's thread (its async `run` only defers to setImmediate), so runs of one process never
 * overlap and a second intra-op thread can only split a single run. Measured on the 2-core VM with
 * another process busy: Silero VAD 220-260 µs per run with 1 thread, 490-610 µs with 2 or the
 * default (the pool's threads fight the other process for the cores); the tiny MLP 9 µs against
 * 19 µs. Throughput on more cores comes from `serve --workers N`, one process per core.
 * Severity 4 (fatal only): onnxruntime otherwise writes every failed run to stderr in colour,
 * outside the process logger; the failure reaches the caller as MODEL_PREDICT_FAILED anyway.
 */
const SESSION_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 4,
} as const;

/**
 * Set by `ferry optimize quantize` on a weight-only int8 graph (every DequantizeLinear reads an
 * initializer). onnxruntime keeps DequantizeLinear nodes at run time by default, to fuse QDQ
 * patterns into integer kernels; for weight-only graphs nothing fuses, so the weights would be
 * dequantized at every call. `session.disable_quant_qdq` lets constant folding turn them into float
 * weights once, at load: the file stays int8, the calls cost what the float graph's do.
 */
export const WEIGHT_ONLY_INT8_KEY = 'ferry.weight_only_int8';

function sessionOptionsFor(artifact: Uint8Array) {
  return readModelHeader(artifact).metadata[WEIGHT_ONLY_INT8_KEY] === '1'
    ? { ...SESSION_OPTIONS, extra: { session: { disable_quant_qdq: '1' } } }
    : SESSION_OPTIONS;
}

async function createSession(ort: OrtModule, artifact: Uint8Array): Promise<OrtSession> {
  try {
    return await ort.InferenceSession.create(artifact, sessionOptionsFor(artifact));
  } catch (e) {
    throw new FerryError(ErrorCode.MODEL_LOAD_FAILED, `the ONNX model does not load: ${ortMessage(e)}`, {
      cause: e,
    });
  }
}

/** The graph's signature, or the given one once it is checked against the graph. */
function signatureFor(session: OrtSession, given: Signature | undefined): Signature {
  const graph = graphSignature(session);
  if (given === undefined) return graph;
  checkOverride(given, graph, 'the ONNX graph');
  return given;
}

class OnnxModel implements Model {
  readonly kind = ONNX_KIND;
  readonly classes: readonly string[] = [];
  private closed = false;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    readonly signature: Signature,
  ) {}

  async infer(inputs: NamedTensors): Promise<NamedTensors> {
    if (this.closed) throw new FerryError(ErrorCode.MODEL_PREDICT_FAILED, 'the ONNX model is closed');
    const feeds: Record<string, OrtTensor> = {};
    for (const spec of this.signature.inputs) {
      try {
        feeds[spec.name] = toOrt(this.ort, spec, inputs[spec.name]);
      } catch (e) {
        if (e instanceof FerryError) throw e;
        // onnxruntime's Tensor refusing data the serving layer should have refused first.
        throw new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `input "${spec.name}": ${ortMessage(e)}`, {
          cause: e,
        });
      }
    }
    let results: Readonly<Record<string, OrtTensor>>;
    try {
      // Only the signature's outputs are fetched: onnxruntime then skips what only others need.
      results = await this.session.run(
        feeds,
        this.signature.outputs.map((o) => o.name),
      );
    } catch (e) {
      throw new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `the ONNX model failed: ${ortMessage(e)}`, {
        cause: e,
      });
    }
    const outputs: Record<string, Tensor> = {};
    for (const spec of this.signature.outputs) outputs[spec.name] = fromOrt(spec, results[spec.name]);
    return outputs;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

/** The onnx kind over the onnxruntime package named (a parameter so a test can name one that is missing). */
export function createOnnxKind(runtimeSpecifier: string): ModelKind {
  const loadRuntime = runtimeLoader(runtimeSpecifier);
  return {
    kind: ONNX_KIND,
    async inspect(artifact, _ctx, override) {
      const session = await createSession(await loadRuntime(), artifact);
      try {
        const signature = signatureFor(session, override);
        const { metadata, ...header } = readModelHeader(artifact);
        return {
          signature,
          details: {
            ...header,
            ...(Object.keys(metadata).length > 0 ? { metadata: { ...metadata } } : {}),
            graphInputs: [...session.inputNames],
            graphOutputs: [...session.outputNames],
          },
        };
      } finally {
        await session.release();
      }
    },
    async open(artifact, ctx) {
      const ort = await loadRuntime();
      const session = await createSession(ort, artifact);
      try {
        return new OnnxModel(ort, session, signatureFor(session, ctx.signature));
      } catch (e) {
        await session.release();
        throw e;
      }
    },
    async verify(artifact) {
      const session = await createSession(await loadRuntime(), artifact);
      await session.release();
    },
  };
}

export const onnxKind = createOnnxKind(ONNX_RUNTIME_PACKAGE);
