import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

/*
 * The embedded log shared by separate processes on one file, and killed with SIGKILL: what a
 * publish acknowledged is there afterwards, and what a consumer had not acked is delivered again.
 */

const projectRoot = join(import.meta.dirname, '..', '..');
const worker = join(projectRoot, 'test', 'helpers', 'event-log-worker.ts');

interface Worker {
  child: ChildProcess;
  lines: string[];
  /** Resolves when a line matching `test` has been printed. */
  waitFor(test: (line: string) => boolean, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

function start(args: string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], {
    cwd: projectRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (test, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (lines.some(test)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such line in time; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => setTimeout(check, 10));
        check();
      }),
  };
}

const ackedCount = (w: Worker) =>
  Math.max(0, ...w.lines.filter((l) => l.startsWith('acked ')).map((l) => Number(l.slice(6))));
const gotIds = (w: Worker) => w.lines.filter((l) => l.startsWith('got ')).map((l) => l.split(' ')[1]!);

describe('embedded log shared by processes and killed', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  const workers: Worker[] = [];

  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await tmp?.remove();
  });

  it('two producers and two consumers on disjoint partitions: every event once, in one sequence', async () => {
    tmp = await makeTmpDir('ferry-log-procs-');
    const db = join(tmp.path, 'streams.db');
    const log = new SqliteEventLog({ path: db });
    await log.init();
    await log.ensureStream({ name: 'shared', partitions: 4 });
    const consumers = [start(['consume', db, 'shared', '0,1']), start(['consume', db, 'shared', '2,3'])];
    const producers = [
      start(['publish', db, 'shared', 'a', '150']),
      start(['publish', db, 'shared', 'b', '150']),
    ];
    workers.push(...consumers, ...producers);
    expect(await Promise.all(producers.map((p) => p.exited))).toEqual([0, 0]);
    // Until both consumers have everything: `pending` alone counts only the partitions whose
    // consumer has started (a consumer slow to start under load has no cursor yet, so its
    // partitions looked drained and it was told to stop before it fetched anything).
    const received = () => new Set(consumers.flatMap(gotIds)).size;
    const end = Date.now() + 40_000;
    while (
      (received() < 300 || (await log.status('shared')).consumers[0]?.pending !== 0) &&
      Date.now() < end
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const c of consumers) c.child.stdin?.write('stop\n');
    await Promise.all(consumers.map((c) => c.exited));
    const status = await log.status('shared');
    expect(status).toMatchObject({ events: 300, firstSequence: 1, lastSequence: 300 });
    const [one, two] = consumers.map(gotIds) as [string[], string[]];
    expect(new Set([...one, ...two]).size).toBe(300);
    expect(one.length + two.length).toBe(300);
    await log.close();
  }, 60_000);

  it('keeps what was acknowledged across a SIGKILL of the producer and redelivers what a killed consumer held', async () => {
    tmp = await makeTmpDir('ferry-log-kill-');
    const db = join(tmp.path, 'streams.db');
    const log = new SqliteEventLog({ path: db });
    await log.init();
    await log.ensureStream({ name: 'crash', partitions: 2 });

    const producer = start(['publish', db, 'crash', 'e', '100000']);
    workers.push(producer);
    await producer.waitFor((l) => l === 'acked 200');
    producer.child.kill('SIGKILL');
    await producer.exited;
    const acked = ackedCount(producer);
    const stored = (await log.status('crash')).events;
    // Everything acknowledged is stored; at most the batch being written when it died is not.
    expect(stored).toBeGreaterThanOrEqual(acked);
    expect(stored).toBeLessThanOrEqual(acked + 10);

    const holder = start(['consume', db, 'crash', '0,1', 'no']);
    workers.push(holder);
    await holder.waitFor((l) => l.startsWith('got '));
    holder.child.kill('SIGKILL');
    await holder.exited;
    const held = new Set(gotIds(holder));
    expect(held.size).toBeGreaterThan(0);

    const consumer = await log.consumer('crash', { name: 'workers', ackWaitMs: 500 });
    const again = new Map<string, number>();
    const end = Date.now() + 10_000;
    while (again.size < stored && Date.now() < end) {
      const got = await consumer.fetch(200, 200);
      for (const d of got) again.set(d.id, d.deliveryCount);
      await Promise.all(got.map((d) => d.ack()));
    }
    expect(again.size).toBe(stored);
    for (const id of held) expect(again.get(id)).toBeGreaterThanOrEqual(2);
    expect((await log.status('crash')).consumers).toEqual([
      expect.objectContaining({ pending: 0, inFlight: 0 }),
    ]);
    await log.close();
  }, 60_000);
});
