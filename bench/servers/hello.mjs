// The ceiling for bench/serving: a bare fastify POST that parses JSON and answers a small JSON.
// Plain JavaScript so that it runs on node as it is, like the compiled server it is compared with.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/predict', async (req) => ({
  results: [{ prediction: 'other', echo: req.body?.title?.length ?? 0 }],
}));
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
