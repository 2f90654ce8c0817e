import { describe, expect, it } from 'vitest';
import { Closers } from '../../../src/app/lifecycle.js';

describe('Closers', () => {
  it('closes in reverse order of opening, each once, however often close() is called', async () => {
    const closed: string[] = [];
    const closers = new Closers();
    for (const name of ['database', 'cache', 'server']) closers.add(name, () => void closed.push(name));
    await Promise.all([closers.close(), closers.close()]);
    await closers.close();
    expect(closed).toEqual(['server', 'cache', 'database']);
  });

  it('runs every closer when some fail and reports every failure in one AggregateError', async () => {
    const closed: string[] = [];
    const closers = new Closers();
    closers.add('database', () => void closed.push('database'));
    closers.add('log', async () => {
      closed.push('log');
      throw new Error('disk full');
    });
    closers.add('server', () => {
      closed.push('server');
      throw new Error('socket stuck');
    });
    const error = await closers.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(closed).toEqual(['server', 'log', 'database']);
    expect(error).toBeInstanceOf(AggregateError);
    const aggregate = error as AggregateError;
    expect(aggregate.message).toBe('closing failed: server, log');
    expect(aggregate.errors.map((e: Error) => e.message)).toEqual(['socket stuck', 'disk full']);
    // Once: a second close() reports the same outcome without running anything again.
    await expect(closers.close()).rejects.toBe(error);
    expect(closed).toHaveLength(3);
  });

  it('rethrows a single failure as it is (its code intact)', async () => {
    const closers = new Closers();
    const failure = Object.assign(new Error('pool ended'), { code: 'X' });
    closers.add('ok', () => undefined);
    closers.add('database', () => {
      throw failure;
    });
    await expect(closers.close()).rejects.toBe(failure);
  });

  it('refuses to register once closing started', async () => {
    const closers = new Closers();
    await closers.close();
    expect(() => closers.add('late', () => undefined)).toThrow(/opened after closing started/);
  });
});
