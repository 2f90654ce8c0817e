// The ceiling of bench/learning/feedback: a bare fastify POST /v1/feedback that stores the same rows
// in the same table shape with one prepared better-sqlite3 INSERT … ON CONFLICT DO NOTHING per label
// in one transaction, with nothing else (no token, schema, class check, log lookup, conflict check).
// Usage: node bench/learning/feedback-baseline.mjs <database file>
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL');
db.exec(`CREATE TABLE IF NOT EXISTS ferry_feedback (
  model TEXT NOT NULL, key_kind TEXT NOT NULL, key_id TEXT NOT NULL, item INTEGER NOT NULL,
  label TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (model, key_kind, key_id, item))`);
const insert = db.prepare(
  `INSERT INTO ferry_feedback VALUES (?, 'request', ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
);
const storeAll = db.transaction((model, labels, at) => {
  let stored = 0;
  for (const l of labels) stored += insert.run(model, l.request_id, l.item ?? 0, l.label, at).changes;
  return stored;
});
const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
app.post('/v1/feedback', async (req) => {
  const stored = storeAll(req.body.model, req.body.labels, new Date().toISOString());
  return { stored, duplicates: req.body.labels.length - stored };
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
