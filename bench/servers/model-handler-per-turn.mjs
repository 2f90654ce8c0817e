// bench/serving-overhead's third ceiling: bench/servers/model-handler.mjs answering in the event
// loop's check phase (one setImmediate per request) instead of straight from the poll phase, as
// Ferry's batcher answers a turn's requests together. Measured on the 2-core machine in a slow
// phase (docs/benchmarks.md, session 12), this alone made the bare handler ~50 % faster at 64
// connections: the plain bare handler's structure, not its work, was what Ferry beat there.
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
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
