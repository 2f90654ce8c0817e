// The ceiling of bench/models for the ONNX row: a bare fastify POST /v2/models/<name>/infer whose
// handler parses the same v2 JSON, builds onnxruntime tensors, runs the session (the same options
// Ferry's onnx kind uses) and returns every output as v2 JSON, with nothing else: no signature
// check, batching, cache, metrics or log. Ferry's overhead for an ONNX model is what it adds to this.
// Usage: node bench/servers/onnx-handler.mjs <model.onnx>
import Fastify from 'fastify';
import ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(process.argv[2], {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 4,
});
const TO_ORT = {
  FP32: ['float32', Float32Array],
  FP64: ['float64', Float64Array],
  INT32: ['int32', Int32Array],
};
const FROM_ORT = { float32: 'FP32', float64: 'FP64', int32: 'INT32', int64: 'INT64' };

function toTensor(input) {
  if (input.datatype === 'INT64') {
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(input.data, (v) => BigInt(v)),
      input.shape,
    );
  }
  const [type, Typed] = TO_ORT[input.datatype];
  return new ort.Tensor(type, Typed.from(input.data), input.shape);
}

const app = Fastify({ logger: false });
app.post('/v2/models/:name/infer', async (req) => {
  const feeds = {};
  for (const input of req.body.inputs) feeds[input.name] = toTensor(input);
  const results = await session.run(feeds);
  return {
    model_name: req.params.name,
    outputs: Object.entries(results).map(([name, t]) => ({
      name,
      datatype: FROM_ORT[t.type],
      shape: t.dims,
      data: Array.from(t.data, Number),
    })),
  };
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
