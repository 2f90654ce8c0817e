// The second ceiling of bench/serving: a bare fastify POST /predict whose handler calls the same
// model artifact Ferry serves (decoded by Ferry's own codec from the build), with nothing else: no
// validation, batching, cache, metrics or log. Ferry's overhead is what it adds to this.
// Usage: node bench/servers/model-handler.mjs <artifact file>
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { decodeModel } from '../../dist/model/codec.js';

const model = decodeModel(new Uint8Array(readFileSync(process.argv[2])));
const app = Fastify({ logger: false });
app.post('/predict', async (req) => ({ results: model.predictBatch([req.body]) }));
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
