import onnx from 'onnx-proto';
import { seededRandom } from '../../src/core/random.js';

/*
 * ONNX graphs built in TypeScript for the optimizer's tests and bench (python's onnx is not
 * installed here): an MLP of any width, written with onnx-proto the way an exporter would.
 */

const P = onnx.onnx;
const FLOAT = P.TensorProto.DataType.FLOAT;

function floats(name: string, dims: number[], values: Float32Array): onnx.onnx.ITensorProto {
  return P.TensorProto.create({
    name,
    dataType: FLOAT,
    dims,
    rawData: new Uint8Array(values.buffer.slice(0)),
  });
}

function valueInfo(name: string, dims: (number | string)[]): onnx.onnx.IValueInfoProto {
  return P.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export interface MlpOptions {
  inputs: number;
  hidden: number;
  outputs: number;
  seed?: number;
  opset?: number;
  irVersion?: number;
}

/**
 * x [batch, inputs] -> Gemm (transB, weight [hidden, inputs]) -> Relu -> MatMul (weight
 * [hidden, hidden]) -> Relu -> Gemm (weight [hidden, outputs], no transB) -> logits. Weights
 * uniform in ±1/sqrt(fan-in), as PyTorch initializes a Linear layer.
 */
export function buildMlp(o: MlpOptions): Uint8Array {
  const random = seededRandom(o.seed ?? 1);
  const uniform = (n: number, fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    return Float32Array.from({ length: n }, () => (random() * 2 - 1) * bound);
  };
  const attr = (name: string, i: number) =>
    P.AttributeProto.create({ name, i, type: P.AttributeProto.AttributeType.INT });
  const graph = P.GraphProto.create({
    name: 'mlp',
    node: [
      P.NodeProto.create({
        opType: 'Gemm',
        input: ['x', 'w1', 'b1'],
        output: ['h1'],
        attribute: [attr('transB', 1)],
      }),
      P.NodeProto.create({ opType: 'Relu', input: ['h1'], output: ['a1'] }),
      P.NodeProto.create({ opType: 'MatMul', input: ['a1', 'w2'], output: ['h2'] }),
      P.NodeProto.create({ opType: 'Relu', input: ['h2'], output: ['a2'] }),
      P.NodeProto.create({ opType: 'Gemm', input: ['a2', 'w3', 'b3'], output: ['logits'] }),
    ],
    initializer: [
      floats('w1', [o.hidden, o.inputs], uniform(o.hidden * o.inputs, o.inputs)),
      floats('b1', [o.hidden], uniform(o.hidden, o.inputs)),
      floats('w2', [o.hidden, o.hidden], uniform(o.hidden * o.hidden, o.hidden)),
      floats('w3', [o.hidden, o.outputs], uniform(o.hidden * o.outputs, o.hidden)),
      floats('b3', [o.outputs], uniform(o.outputs, o.hidden)),
    ],
    input: [valueInfo('x', ['batch', o.inputs])],
    output: [valueInfo('logits', ['batch', o.outputs])],
  });
  const model = P.ModelProto.create({
    irVersion: o.irVersion ?? 8,
    producerName: 'ferry-test',
    opsetImport: [{ domain: '', version: o.opset ?? 17 }],
    graph,
  });
  return P.ModelProto.encode(model).finish();
}

/** x [1, channels, 12, 12] -> Conv (weight [filters, channels, 3, 3], bias) -> y: a Conv weight to quantize. */
export function buildConv(channels: number, filters: number, seed = 2): Uint8Array {
  const random = seededRandom(seed);
  const w = Float32Array.from({ length: filters * channels * 9 }, () => random() * 2 - 1);
  const graph = P.GraphProto.create({
    name: 'conv',
    node: [P.NodeProto.create({ opType: 'Conv', input: ['x', 'w', 'b'], output: ['y'] })],
    initializer: [
      floats('w', [filters, channels, 3, 3], w),
      floats(
        'b',
        [filters],
        Float32Array.from({ length: filters }, () => random()),
      ),
    ],
    input: [valueInfo('x', [1, channels, 12, 12])],
    output: [valueInfo('y', [1, filters, 10, 10])],
  });
  const model = P.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph });
  return P.ModelProto.encode(model).finish();
}
