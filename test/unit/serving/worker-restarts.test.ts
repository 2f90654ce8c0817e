import { describe, expect, it } from 'vitest';
import { WorkerRestarts } from '../../../src/serving/worker-restarts.js';

const failedStart = { listened: false, listeningMs: 0, fatal: false };

describe('WorkerRestarts', () => {
  it('doubles the delay for each exit in a row, up to the cap', () => {
    const r = new WorkerRestarts({ baseDelayMs: 100, maxDelayMs: 1000, maxStartFailures: 100 });
    const delays = Array.from({ length: 6 }, () => r.exited(failedStart));
    expect(delays).toEqual(
      [100, 200, 400, 800, 1000, 1000].map((delayMs) => ({ action: 'restart', delayMs })),
    );
  });

  it('gives up after maxStartFailures workers in a row exit before listening, with none listening', () => {
    const r = new WorkerRestarts({ maxStartFailures: 3 });
    expect(r.exited(failedStart).action).toBe('restart');
    expect(r.exited(failedStart).action).toBe('restart');
    expect(r.exited(failedStart)).toEqual({ action: 'give-up', startFailures: 3 });
  });

  it('does not give up while another worker is listening, and a listening worker resets the count', () => {
    const r = new WorkerRestarts({ maxStartFailures: 2 });
    r.listening();
    for (let i = 0; i < 5; i++) expect(r.exited(failedStart).action).toBe('restart');
    const alone = new WorkerRestarts({ maxStartFailures: 2 });
    alone.exited(failedStart);
    alone.listening(); // a worker made it: earlier failures no longer count
    expect(alone.exited({ listened: true, listeningMs: 5, fatal: false }).action).toBe('restart');
    expect(alone.exited(failedStart).action).toBe('restart');
    expect(alone.exited(failedStart).action).toBe('give-up');
  });

  it('gives up at once on an error a restart cannot fix, when no worker is listening', () => {
    const r = new WorkerRestarts({ maxStartFailures: 10 });
    expect(r.exited({ ...failedStart, fatal: true }).action).toBe('give-up');
  });

  it('a worker that served long enough before dying restarts after the base delay', () => {
    const r = new WorkerRestarts({ baseDelayMs: 100, stableAfterMs: 1000, maxStartFailures: 100 });
    r.listening();
    expect(r.exited({ listened: true, listeningMs: 10, fatal: false })).toEqual({
      action: 'restart',
      delayMs: 100,
    });
    r.listening();
    expect(r.exited({ listened: true, listeningMs: 10, fatal: false })).toEqual({
      action: 'restart',
      delayMs: 200,
    });
    r.listening();
    expect(r.exited({ listened: true, listeningMs: 5000, fatal: false })).toEqual({
      action: 'restart',
      delayMs: 100,
    });
  });
});
