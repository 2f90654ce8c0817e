import { MemoryJobQueue } from '../../src/adapters/memory/memory-job-queue.js';
import { jobQueueConformance } from '../conformance/job-queue.conformance.js';

jobQueueConformance('memory', async () => {
  const queue = new MemoryJobQueue<{ n: number }>();
  return { queue, dispose: () => queue.close() };
});
