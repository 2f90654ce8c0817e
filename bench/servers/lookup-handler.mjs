// The ceiling of a stored-prediction lookup for bench/serving-overhead: a bare fastify GET that reads
// the same row from the same SQLite file as Ferry's GET /v1/predictions/{model}/{id} (one prepared
// statement, better-sqlite3 on the event loop, as Ferry's SQLite client does) and answers its fields,
// with nothing else: no validation, metrics, access rules or schema.
// Usage: node bench/servers/lookup-handler.mjs <ferry.db>
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const db = new Database(process.argv[2], { readonly: true });
const select = db.prepare(
  'SELECT model, entity_id, version, input_sha256, prediction, probabilities, computed_at, job_id, source FROM ferry_batch_predictions WHERE model = ? AND entity_id = ?',
);
const app = Fastify({ logger: false });
app.get('/v1/predictions/:model/:id', async (req, reply) => {
  const row = select.get(req.params.model, req.params.id);
  if (row === undefined) return reply.code(404).send({ error: 'not found' });
  return {
    model: row.model,
    entity_id: row.entity_id,
    version: row.version,
    prediction: row.prediction,
    probabilities: JSON.parse(row.probabilities),
    computed_at: row.computed_at,
    source: row.source,
  };
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
