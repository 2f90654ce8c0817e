import { describe, expect, it } from 'vitest';
import { nextCheckPhase } from '../../src/core/event-loop.js';

describe('nextCheckPhase', () => {
  it('resolves the waiters of one turn together, in order, in the check phase', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate before'));
    const waits = [1, 2, 3].map((i) => nextCheckPhase().then(() => order.push(`waiter ${i}`)));
    order.push('sync');
    await Promise.all(waits);
    expect(order).toEqual(['sync', 'immediate before', 'waiter 1', 'waiter 2', 'waiter 3']);
  });

  it('a waiter added while the turn is being resolved waits for the next turn: a loop still yields to I/O', async () => {
    // What the exposure writer and the optimizer's timing loop rely on: awaiting again from the
    // continuation must not resolve in the same check phase, or the loop would never let I/O in.
    let immediatesSeen = 0;
    let slices = 0;
    const loop = (async () => {
      for (; slices < 5; slices++) {
        const before = immediatesSeen;
        setImmediate(() => immediatesSeen++);
        await nextCheckPhase();
        // The immediate queued before this wait ran first: a whole check phase passed.
        expect(immediatesSeen).toBe(before + 1);
      }
    })();
    await loop;
    expect(slices).toBe(5);
  });

  it('lets timers and I/O run between turns', async () => {
    let timerFired = false;
    setTimeout(() => {
      timerFired = true;
    }, 0);
    // Spin on nextCheckPhase: with a turn per wait, the 0 ms timer gets its turn within a few.
    for (let i = 0; i < 1000 && !timerFired; i++) await nextCheckPhase();
    expect(timerFired).toBe(true);
  });
});
