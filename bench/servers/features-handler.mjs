// The ceiling of bench/features: a bare fastify POST /v1/features/online that reads the same stored
// rows Ferry reads, with nothing else (no validation, definitions, TTL, statuses or response schema):
//   redis:  one HMGET (t, w, v, as Ferry's adapter) for one entity, a pipeline of HMGETs for several, then JSON.parse of each row;
//   sqlite: one prepared better-sqlite3 statement per entity on the same table, then JSON.parse.
// It answers each entity's values and event time as they are stored (smaller than Ferry's answer,
// which wraps every value with its status; bench/features prints both sizes).
// Usage: node bench/servers/features-handler.mjs redis <redis url> <key prefix up to the entity key>
//        node bench/servers/features-handler.mjs sqlite <database file> <view>
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const [mode, target, scope] = process.argv.slice(2);
const ENTITY = process.env.JOIN_KEY ?? 'user_id';

/** @type {(keys: string[]) => Promise<Array<{ t: number, v: unknown } | null>>} */
let read;
/** @type {() => Promise<void>} */
let closeStore;

if (mode === 'redis') {
  const redis = new Redis(target, { enableAutoPipelining: false });
  const row = (fields) => (fields[0] === null ? null : { t: Number(fields[0]), v: JSON.parse(fields[2]) });
  read = async (keys) => {
    if (keys.length === 1) return [row(await redis.hmget(scope + keys[0], 't', 'w', 'v'))];
    const pipeline = redis.pipeline();
    for (const k of keys) pipeline.hmget(scope + k, 't', 'w', 'v');
    const replies = await pipeline.exec();
    return replies.map(([error, fields]) => {
      if (error) throw error;
      return row(fields);
    });
  };
  closeStore = async () => void redis.disconnect();
} else if (mode === 'sqlite') {
  const db = new Database(target, { readonly: true });
  const one = db.prepare(
    'SELECT event_time_ms, values_json FROM ferry_online_features WHERE view = ? AND entity_key = ?',
  );
  read = async (keys) =>
    keys.map((k) => {
      const r = one.get(scope, k);
      return r === undefined ? null : { t: Number(r.event_time_ms), v: JSON.parse(r.values_json) };
    });
  closeStore = async () => db.close();
} else {
  throw new Error('usage: features-handler.mjs redis|sqlite <target> <scope>');
}

const app = Fastify({ logger: false });
app.post('/v1/features/online', async (req) => {
  const keys = req.body.entities[ENTITY].map(String);
  const rows = await read(keys);
  return {
    results: rows.map((r, i) => ({
      entity: { [ENTITY]: keys[i] },
      event_time_ms: r?.t ?? null,
      values: r?.v ?? null,
    })),
  };
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${address}\n`);
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(closeStore)
      .then(() => process.exit(0)),
);
