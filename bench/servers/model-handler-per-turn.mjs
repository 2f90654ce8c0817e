// bench/serving-overhead's third ceiling: bench/servers/model-handler.mjs answering in the event
// loop's check phase (one setImmediate per request) instead of straight from the poll phase, as
// Ferry's batcher answers a turn's requests together. Measured on the 2-core machine in a slow
// phase (docs/benchmarks.md, session 12), this alone made the bare handler ~50 % faster at 64
// connections: the plain bare handler's structure, not its work, was what Ferry beat there.
// Also serves POST /v2/models/<name>/infer (below).
// Usage: node bench/servers/model-handler-per-turn.mjs <artifact file>
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { decodeModel } from '../../dist/model/codec.js';

const model = decodeModel(new Uint8Array(readFileSync(process.argv[2])));
const app = Fastify({ logger: false });
const checkPhase = () => new Promise((resolve) => setImmediate(resolve));
app.post('/predict', async (req) => {
  await checkPhase();
  return { results: model.predictBatch([req.body]) };
});
// The same work behind Open Inference Protocol v2's infer, the bare ceiling of Ferry's v2 route
// (issue 16: "v2 infer the same"), whose request and answer are larger than /predict's: the title
// and description tensors in, the label and probabilities tensors out, no validation.
app.post('/v2/models/:name/infer', async (req) => {
  await checkPhase();
  const data = (name) => req.body.inputs.find((t) => t.name === name).data;
  const descriptions = data('description');
  const rows = data('title').map((title, i) => ({ title, description: descriptions[i] }));
  const predictions = model.predictBatch(rows);
  const classes = Object.keys(predictions[0].probabilities);
  return {
    model_name: req.params.name,
    model_version: '1',
    outputs: [
      { name: 'label', shape: [rows.length], datatype: 'BYTES', data: predictions.map((p) => p.prediction) },
      {
        name: 'probabilities',
        shape: [rows.length, classes.length],
        datatype: 'FP32',
        data: predictions.flatMap((p) => classes.map((c) => p.probabilities[c])),
        parameters: { classes },
      },
    ],
  };
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
