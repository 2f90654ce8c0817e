/**
 * A separate process on an embedded stream log, for the multi-process and crash tests.
 * - `publish <db> <stream> <prefix> <count>`: publishes `<prefix>0..` in batches of 10, printing
 *   `acked <n>` after each batch the log acknowledged (so a test knows what must survive a kill).
 * - `consume <db> <stream> <partitions, e.g. 0,1> <ack: yes|no>`: fetches until told to stop on
 *   stdin (or killed), printing `got <id> <deliveryCount>` per delivery, acking unless `no`.
 * Prints `ready` once the log is open.
 * Usage: node --import tsx event-log-worker.ts <mode> …
 */
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log.js';

const [mode, db, stream, arg, extra] = process.argv.slice(2);
if (db === undefined || stream === undefined || arg === undefined) throw new Error('usage: see the file');

const log = new SqliteEventLog({ path: db });
await log.init();
process.stdout.write('ready\n');

if (mode === 'publish') {
  const count = Number(extra);
  for (let i = 0; i < count; i += 10) {
    const events = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
      id: `${arg}${i + j}`,
      key: `key-${(i + j) % 13}`,
      data: new TextEncoder().encode(`${process.pid}`),
    }));
    await log.publish(stream, events);
    process.stdout.write(`acked ${i + events.length}\n`);
  }
} else if (mode === 'consume') {
  const partitions = arg.split(',').map(Number);
  const consumer = await log.consumer(stream, { name: 'workers', partitions, ackWaitMs: 500 });
  let stop = false;
  process.stdin.on('data', () => {
    stop = true;
  });
  while (!stop) {
    const got = await consumer.fetch(20, 100);
    for (const d of got) process.stdout.write(`got ${d.id} ${d.deliveryCount}\n`);
    if (extra !== 'no') await Promise.all(got.map((d) => d.ack()));
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
await log.close();
process.stdout.write('done\n');
// stdin's listener would keep the process alive.
process.exit(0);
