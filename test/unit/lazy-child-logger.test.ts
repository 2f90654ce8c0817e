import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyChildLogger } from '../../src/serving/http/lazy-child-logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // No time field: the two loggers' lines are compared byte for byte.
  return {
    lines,
    logger: pino({ level: 'debug', timestamp: false }, stream) as unknown as FastifyBaseLogger,
  };
}

describe('lazyChildLogger (fastify childLoggerFactory)', () => {
  it('makes no pino child until the request logs', () => {
    const { logger } = capture();
    const child = vi.spyOn(logger, 'child');
    const lazy = lazyChildLogger(logger, { reqId: 'r-1' }, {});
    expect(lazy.level).toBe('debug');
    expect(child).not.toHaveBeenCalled();
    lazy.info('first');
    lazy.warn({ a: 1 }, 'second');
    expect(child).toHaveBeenCalledTimes(1);
  });

  it('writes the lines a pino child with the same bindings and options writes', async () => {
    const eager = capture();
    const lazy = capture();
    const bindings = { reqId: 'r-2' };
    const options = { level: 'info' };
    const loggers = [eager.logger.child(bindings, options), lazyChildLogger(lazy.logger, bindings, options)];
    for (const l of loggers) {
      l.debug('dropped: below the child level');
      l.info({ event: 'access', status: 200 }, 'POST /predict %d', 200);
      l.error({ err: new Error('boom') }, 'failed');
      l.child({ sub: 'x' }).warn('nested');
      expect(l.level).toBe('info');
    }
    await new Promise((r) => setImmediate(r));
    expect(lazy.lines).toHaveLength(3);
    // Stacks name the lines that made the errors, which differ; everything else is the same.
    const strip = (s: string) => s.replace(/"stack":"[^"]*"/, '');
    expect(lazy.lines.map(strip)).toEqual(eager.lines.map(strip));
    expect(JSON.parse(lazy.lines[0]!)).toMatchObject({
      reqId: 'r-2',
      event: 'access',
      msg: 'POST /predict 200',
    });
  });
});
