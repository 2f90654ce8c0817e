import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { WorkerPredictionLogSink } from '../../src/app/worker-prediction-log-sink.js';
import {
  mayLeaveIdle,
  type WriterPolicy,
  type WriterScheduling,
  YieldDecision,
} from '../../src/app/writer-thread-scheduling.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { record } from '../conformance/prediction-log-sink.conformance.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

/*
 * The SQLite writer thread runs under SCHED_IDLE where it can also take the CPU back, and goes back
 * to the normal policy when a write waited too long for it (writer-thread-scheduling.ts).
 */
describe('YieldDecision', () => {
  const t = { behindMs: 200, caughtUpMs: 5000 };

  it('idle until a write waits behindMs for the thread', () => {
    const d = new YieldDecision(t);
    expect(d.next('idle', 0, 0)).toBe('idle');
    expect(d.next('idle', 199, 10)).toBe('idle');
    expect(d.next('idle', 200, 20)).toBe('normal');
  });

  it('normal again until every write for caughtUpMs was taken up within behindMs / 10', () => {
    const d = new YieldDecision(t);
    expect(d.next('normal', 1, 1000)).toBe('normal');
    expect(d.next('normal', 19, 5999)).toBe('normal');
    // One slow write starts the count again.
    expect(d.next('normal', 20, 6000)).toBe('normal');
    expect(d.next('normal', 1, 6001)).toBe('normal');
    expect(d.next('normal', 1, 11_000)).toBe('normal');
    expect(d.next('normal', 1, 11_001)).toBe('idle');
  });
});

describe('mayLeaveIdle (checked before the thread ever enters SCHED_IDLE)', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax nice priority         ${soft}                    ${soft}                    \n`;
  const status = (capEff: string) => `Name:\tnode\nCapEff:\t${capEff}\n`;

  it('root with every capability, as here: yes', () => {
    expect(mayLeaveIdle(status('000001fffeffffff'), limits('0'), 0)).toBe(true);
  });

  it('a container user with no capability and RLIMIT_NICE 0 (the image runs as 1000:1000): no', () => {
    expect(mayLeaveIdle(status('0000000000000000'), limits('0'), 0)).toBe(false);
    // Every capability but CAP_SYS_NICE (bit 23).
    expect(mayLeaveIdle(status('000001ffff7fffff'), limits('0'), 0)).toBe(false);
  });

  it('RLIMIT_NICE that allows the nice value: 20 - nice <= limit', () => {
    expect(mayLeaveIdle(status('0'), limits('20'), 0)).toBe(true);
    expect(mayLeaveIdle(status('0'), limits('19'), 0)).toBe(false);
    expect(mayLeaveIdle(status('0'), limits('1'), 19)).toBe(true);
    expect(mayLeaveIdle(status('0'), limits('unlimited'), 0)).toBe(true);
    expect(mayLeaveIdle('', '', 0)).toBe(false);
  });
});

/** The thread's policy as the kernel has it, read with `chrt --pid`. */
async function threadPolicy(tid: number): Promise<WriterPolicy | undefined> {
  const { stdout } = await promisify(execFile)('chrt', ['--pid', String(tid)]);
  if (/SCHED_IDLE/.test(stdout)) return 'idle';
  if (/SCHED_OTHER/.test(stdout)) return 'normal';
  return undefined;
}

const linuxRoot = process.platform === 'linux' && process.getuid?.() === 0;

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the SQLite writer thread', () => {
  it('reports how it is scheduled, as the kernel has it; as root on Linux it yields (SCHED_IDLE)', async () => {
    const dir = await makeTmpDir();
    const path = join(dir.path, 'log.db');
    const sql = new SqliteClient({ path });
    await sql.init();
    await new SqlPredictionLog(sql).init();
    const sink = new WorkerPredictionLogSink({ path, busyTimeoutMs: 5000 });
    try {
      await sink.init();
      const s: WriterScheduling = await sink.scheduling();
      if (linuxRoot) expect(s.yields).toBe(true);
      expect(s.policy).toBe(s.yields ? 'idle' : 'normal');
      if (s.tid !== undefined) {
        // Without chrt the thread cannot yield, and its policy cannot be read back here either.
        const kernel = await threadPolicy(s.tid).catch(() => undefined);
        if (s.yields || kernel !== undefined) expect(kernel).toBe(s.policy);
      }
      // Writes go on, whatever the policy.
      await sink.write([record(1), record(2)]);
    } finally {
      await sink.close();
      await sql.close();
      await dir.remove();
    }
  });

  it.runIf(linuxRoot)('takes the CPU back when a write waited too long for it', async () => {
    const dir = await makeTmpDir();
    const path = join(dir.path, 'log.db');
    const sql = new SqliteClient({ path });
    await sql.init();
    await new SqlPredictionLog(sql).init();
    // The thread itself, so that a write can claim to have been posted long ago.
    const worker = new Worker(new URL('../../src/app/prediction-log-worker.ts', import.meta.url), {
      workerData: { path, busyTimeoutMs: 5000 },
    });
    try {
      const scheduling = await new Promise<WriterScheduling>((resolve) => {
        worker.on('message', (m: { scheduling?: WriterScheduling }) => {
          if (m.scheduling) resolve(m.scheduling);
        });
      });
      const tid = scheduling.tid!;
      expect(await threadPolicy(tid)).toBe('idle');
      worker.postMessage({ id: 1, postedAt: Date.now() - 1000, records: [record(1)] });
      expect(
        await until(
          () => threadPolicy(tid),
          (p) => p === 'normal',
        ),
      ).toBe('normal');
    } finally {
      worker.postMessage({ close: true });
      await new Promise((r) => worker.once('exit', r));
      await sql.close();
      await dir.remove();
    }
  });
});
