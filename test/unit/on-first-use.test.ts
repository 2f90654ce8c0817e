import { describe, expect, it } from 'vitest';
import { onFirstUse } from '../../src/core/on-first-use.js';

describe('onFirstUse', () => {
  it('opens once for concurrent and later callers', async () => {
    let opens = 0;
    const r = onFirstUse(async () => ++opens);
    expect(await Promise.all([r.get(), r.get()])).toEqual([1, 1]);
    expect(await r.get()).toBe(1);
    expect(opens).toBe(1);
  });

  it('does not keep a failed opening: the next call tries again', async () => {
    let opens = 0;
    const r = onFirstUse(async () => {
      opens += 1;
      if (opens === 1) throw new Error('down');
      return 'up';
    });
    await expect(r.get()).rejects.toThrow('down');
    expect(await r.get()).toBe('up');
    expect(opens).toBe(2);
  });

  it('take() hands over what was opened and forgets it', async () => {
    let opens = 0;
    const r = onFirstUse(async () => ++opens);
    expect(r.take()).toBeUndefined();
    await r.get();
    expect(await r.take()).toBe(1);
    expect(await r.get()).toBe(2);
  });
});
