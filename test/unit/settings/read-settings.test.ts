import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/config.js';
import { FerryError } from '../../../src/core/errors.js';
import { SETTING_NAMES, SETTINGS } from '../../../src/core/settings/catalogue.js';
import { readSetting, resolveAllSettings, resolveSetting } from '../../../src/core/settings/read-settings.js';
import { loadServingConfig } from '../../../src/serving/serving-config.js';

/** The FerryError a call throws (the test fails when it throws nothing or something else). */
function errorOf(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FerryError) return e;
    throw e;
  }
  throw new Error('expected a FerryError');
}

describe('settings: validation per type', () => {
  it('integer: range and integrality; NaN, blanks inside and fractions refused', () => {
    expect(readSetting({ FERRY_BATCH_LOCK_MS: '2000' }, 'FERRY_BATCH_LOCK_MS')).toBe(2000);
    for (const bad of ['NaN', 'abc', '1.5', '999', '3600001', 'Infinity']) {
      const e = errorOf(() => readSetting({ FERRY_BATCH_LOCK_MS: bad }, 'FERRY_BATCH_LOCK_MS'));
      expect(e.code).toBe('FERRY_CONFIG_INVALID');
      expect(e.message).toBe(`FERRY_BATCH_LOCK_MS must be an integer in [1000, 3600000], got "${bad}"`);
      expect(e.details).toMatchObject({ setting: 'FERRY_BATCH_LOCK_MS', value: bad });
    }
  });

  it('number: fractions allowed within the range', () => {
    expect(readSetting({ FERRY_PREDICTION_LOG_SAMPLE: '0.25' }, 'FERRY_PREDICTION_LOG_SAMPLE')).toBe(0.25);
    expect(
      errorOf(() => readSetting({ FERRY_PREDICTION_LOG_SAMPLE: '1.5' }, 'FERRY_PREDICTION_LOG_SAMPLE'))
        .message,
    ).toContain('a number in [0, 1]');
  });

  it('boolean: on/off words, anything else refused', () => {
    for (const on of ['1', 'true', 'YES', 'on'])
      expect(readSetting({ FERRY_DEBUG: on }, 'FERRY_DEBUG')).toBe(true);
    for (const off of ['0', 'false', 'no', 'off'])
      expect(readSetting({ FERRY_DEBUG: off }, 'FERRY_DEBUG')).toBe(false);
    expect(readSetting({}, 'FERRY_DEBUG')).toBe(false);
    expect(errorOf(() => readSetting({ FERRY_DEBUG: 'maybe' }, 'FERRY_DEBUG')).code).toBe(
      'FERRY_CONFIG_INVALID',
    );
  });

  it('enum: only the listed values', () => {
    expect(readSetting({ FERRY_LOG_LEVEL: 'debug' }, 'FERRY_LOG_LEVEL')).toBe('debug');
    const e = errorOf(() => readSetting({ FERRY_LOG_LEVEL: 'verbose' }, 'FERRY_LOG_LEVEL'));
    expect(e.message).toBe(
      'FERRY_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    );
  });

  it('string with a rule; a secret URL is named without its credentials', () => {
    expect(readSetting({ FERRY_CACHE: 'redis://h:6379' }, 'FERRY_CACHE')).toBe('redis://h:6379');
    const e = errorOf(() => readSetting({ FERRY_DB: 'mysql://root:hunter2@db/x' }, 'FERRY_DB'));
    expect(e.message).toBe('FERRY_DB must be sqlite:<path> or postgres://…, got "mysql://***@db/x"');
    expect(JSON.stringify(e.details)).not.toContain('hunter2');
  });

  it('list: trimmed items, each checked; the bad item is named', () => {
    expect(readSetting({ FERRY_MODELS: ' a, b ,,' }, 'FERRY_MODELS')).toEqual(['a', 'b']);
    const e = errorOf(() =>
      readSetting({ FERRY_CORS_ORIGINS: 'https://a.example, nope' }, 'FERRY_CORS_ORIGINS'),
    );
    expect(e.message).toContain('got "nope"');
  });

  it('empty counts as unset; fallbacks are read in order and reported', () => {
    expect(readSetting({ FERRY_MAX_ITEMS: '' }, 'FERRY_MAX_ITEMS')).toBe(1000);
    expect(resolveSetting({ GITHUB_SHA: 'abc' }, 'FERRY_GIT_COMMIT')).toEqual({
      name: 'FERRY_GIT_COMMIT',
      value: 'abc',
      source: 'environment',
      from: 'GITHUB_SHA',
    });
    expect(resolveSetting({ FERRY_GIT_COMMIT: 'x', GITHUB_SHA: 'abc' }, 'FERRY_GIT_COMMIT').value).toBe('x');
  });

  it('a flag wins, is validated alike and is named in the error', () => {
    expect(loadServingConfig({ PORT: '9000' }, { port: '9001' }).port).toBe(9001);
    expect(errorOf(() => loadServingConfig({}, { maxBatchSize: '0' })).message).toBe(
      '--max-batch-size must be an integer in [1, 100000], got "0"',
    );
  });

  it('every declaration reads its default from an empty environment', () => {
    const all = resolveAllSettings({});
    expect(all.map((s) => s.name)).toEqual(SETTING_NAMES);
    for (const s of all) {
      expect(s.source).toBe('default');
      expect(s.value).toEqual(SETTINGS[s.name].default);
    }
  });

  it('all invalid settings are named in one error', () => {
    const e = errorOf(() =>
      resolveAllSettings({ FERRY_MAX_ITEMS: '0', FERRY_ADMIN_TOKEN: 'ok', FERRY_SEED: '-1' }),
    );
    expect(e.message).toContain('FERRY_MAX_ITEMS');
    expect(e.message).toContain('FERRY_SEED');
  });

  it('the views read through the module', () => {
    expect(loadConfig({ FERRY_SEED: '7' }).seed).toBe(7);
    expect(errorOf(() => loadConfig({ FERRY_SEED: '2.5' })).code).toBe('FERRY_CONFIG_INVALID');
    expect(loadServingConfig({ FERRY_LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
  });
});
