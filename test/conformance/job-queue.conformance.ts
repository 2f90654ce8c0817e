import { afterEach, describe, expect, it } from 'vitest';
import type { JobQueue } from '../../src/ports/job-queue.js';

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One suite for every JobQueue: dedupe by id, each job done once, retries, counts, clean close. */
export function jobQueueConformance(
  name: string,
  make: () => Promise<{ queue: JobQueue<{ n: number }>; dispose(): Promise<void> }>,
): void {
  describe(`JobQueue conformance: ${name}`, () => {
    let dispose: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await dispose?.();
      dispose = undefined;
    });

    it('runs every enqueued job once, and an id enqueued twice once', async () => {
      const h = await make();
      dispose = h.dispose;
      await h.queue.init();
      const seen: number[] = [];
      await h.queue.enqueueMany(
        Array.from({ length: 20 }, (_, n) => ({ payload: { n }, opts: { jobId: `j${n}` } })),
      );
      await h.queue.enqueue({ n: 5 }, { jobId: 'j5' });
      await h.queue.work(async (p) => {
        seen.push(p.n);
      });
      await until(() => seen.length >= 20);
      await new Promise((r) => setTimeout(r, 200));
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
      await until(async () => (await h.queue.counts()).completed === 20);
    });

    it('retries a failing job until it succeeds, within its attempts', async () => {
      const h = await make();
      dispose = h.dispose;
      await h.queue.init();
      const attempts: number[] = [];
      await h.queue.enqueue({ n: 1 }, { jobId: 'flaky', attempts: 3 });
      await h.queue.work(async (_p, info) => {
        attempts.push(info.attempt);
        if (info.attempt < 3) throw new Error('not yet');
      });
      await until(() => attempts.length === 3);
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('counts a job that fails all its attempts as failed', async () => {
      const h = await make();
      dispose = h.dispose;
      await h.queue.init();
      await h.queue.enqueue({ n: 1 }, { jobId: 'doomed', attempts: 2 });
      await h.queue.work(async () => {
        throw new Error('always');
      });
      await until(async () => (await h.queue.counts()).failed === 1);
    });
  });
}
