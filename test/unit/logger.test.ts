/** Issue 9, item 11: which log format a process writes, the log settings, and shed bursts. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger, loadLogSettings } from '../../src/core/logger.js';
import { loadServingConfig } from '../../src/serving/serving-config.js';
import { type ShedBurst, ShedBursts } from '../../src/serving/shed-bursts.js';

/** The escape that starts a terminal colour. */
const ESC = String.fromCharCode(27);

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stream, text: () => text };
}

describe('the log format', () => {
  it('auto: pretty on a terminal, JSON otherwise; pretty and json are taken as asked', () => {
    expect(chooseLogFormat('auto', true)).toBe('pretty');
    expect(chooseLogFormat('auto', false)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
    expect(chooseLogFormat('json', true)).toBe('json');
  });

  it('createLogger writes JSON lines when not a terminal', () => {
    const out = sink();
    const { logger, format } = createLogger(
      { level: 'info', format: 'auto' },
      { destination: out.stream, isTty: false },
    );
    expect(format).toBe('json');
    logger.info({ event: 'alias_swap', to: 2 }, 'swapped');
    logger.debug('below the level');
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, event: 'alias_swap', to: 2, msg: 'swapped' });
  });

  it('createLogger writes readable lines on a terminal, and when FERRY_LOG_FORMAT=pretty', () => {
    for (const [format, isTty] of [
      ['auto', true],
      ['pretty', false],
    ] as const) {
      const out = sink();
      const built = createLogger({ level: 'info', format }, { destination: out.stream, isTty });
      expect(built.format).toBe('pretty');
      built.logger.info({ model: 'tagifai' }, 'ferry serving');
      const text = out.text();
      expect(() => JSON.parse(text)).toThrow();
      // Colours only on a terminal; the level and message in words, the fields below.
      const plain = text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');
      expect(plain).toMatch(/INFO.*ferry serving/);
      expect(plain).toMatch(/model: "tagifai"/);
      expect(text.includes(`${ESC}[`)).toBe(isTty);
    }
  });

  it('FERRY_LOG_LEVEL and FERRY_LOG_FORMAT are validated, with defaults', () => {
    expect(loadLogSettings({})).toEqual({ level: 'info', format: 'auto' });
    expect(loadLogSettings({ FERRY_LOG_LEVEL: 'debug', FERRY_LOG_FORMAT: 'json' })).toEqual({
      level: 'debug',
      format: 'json',
    });
    expect(() => loadLogSettings({ FERRY_LOG_LEVEL: 'loud' })).toThrow(/FERRY_LOG_LEVEL must be one of/);
    expect(() => loadLogSettings({ FERRY_LOG_FORMAT: 'xml' })).toThrow(/FERRY_LOG_FORMAT must be one of/);
  });

  it('FERRY_ACCESS_LOG_SAMPLE: 0..1, default 0 (off); --access-log is 1', () => {
    expect(loadServingConfig({}).accessLogSample).toBe(0);
    expect(loadServingConfig({ FERRY_ACCESS_LOG_SAMPLE: '0.25' }).accessLogSample).toBe(0.25);
    expect(loadServingConfig({}, { accessLog: 'true' }).accessLogSample).toBe(1);
    expect(() => loadServingConfig({ FERRY_ACCESS_LOG_SAMPLE: '2' })).toThrow(/FERRY_ACCESS_LOG_SAMPLE/);
  });
});

describe('shed bursts', () => {
  function bursts(opts: { quietMs: number; reportEveryMs: number }) {
    let now = 0;
    const reports: ShedBurst[] = [];
    const b = new ShedBursts({ ...opts, now: () => now, report: (r) => reports.push(r) });
    return { b, reports, advance: (ms: number) => (now += ms) };
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('one report per burst, after a quiet gap, with the count by reason', async () => {
    const { b, reports, advance } = bursts({ quietMs: 30, reportEveryMs: 10_000 });
    for (let i = 0; i < 100; i++) b.shed('tagifai', i % 4 === 0 ? 'deadline' : 'overloaded');
    advance(5);
    expect(reports).toEqual([]);
    advance(30);
    await sleep(60);
    expect(reports).toEqual([
      { model: 'tagifai', count: 100, overloaded: 75, deadline: 25, durationMs: 0, ended: true },
    ]);
    // A new shed after the gap starts a new burst.
    b.shed('tagifai', 'overloaded');
    b.close();
    expect(reports.at(-1)).toMatchObject({ count: 1, ended: true });
  });

  it('a long burst is reported while it lasts, then once when it ends', async () => {
    const { b, reports, advance } = bursts({ quietMs: 20, reportEveryMs: 50 });
    for (let t = 0; t < 8; t++) {
      b.shed('m', 'overloaded');
      advance(10);
      await sleep(25);
    }
    advance(100);
    await sleep(40);
    const ongoing = reports.filter((r) => !r.ended);
    expect(ongoing.length).toBeGreaterThan(0);
    expect(reports.filter((r) => r.ended)).toEqual([expect.objectContaining({ model: 'm', count: 8 })]);
  });
});
