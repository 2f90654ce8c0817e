import { randomUUID } from 'node:crypto';
import { BullmqJobQueue } from '../../src/adapters/bullmq/bullmq-job-queue.js';
import { jobQueueConformance } from '../conformance/job-queue.conformance.js';

const REDIS = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

jobQueueConformance('BullMQ on the real Redis', async () => {
  const queue = new BullmqJobQueue<{ n: number }>({
    url: REDIS,
    name: `test-${randomUUID()}`,
    prefix: 'ferry-test',
    lockDurationMs: 5000,
  });
  return {
    queue,
    dispose: async () => {
      await queue.obliterate().catch(() => {});
      await queue.close();
    },
  };
});
