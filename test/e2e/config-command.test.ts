import { describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../src/core/settings/catalogue.js';
import { errorCode, runCli } from '../helpers/cli.js';

interface Line {
  name: string;
  value: unknown;
  source: string;
  from?: string;
  secret: boolean;
}

describe('ferry config', () => {
  it('--json: every setting, its effective value and source; secrets redacted', async () => {
    const r = await runCli(['config', '--json'], {
      FERRY_HOME: '/srv/ferry-home',
      FERRY_DB: 'postgres://ferry:hunter2@db.internal:5432/ferry',
      FERRY_ADMIN_TOKEN: 'tok-admin-123',
      FERRY_CACHE: 'redis://:redispw@cache:6379',
      FERRY_MAX_ITEMS: '50',
      FERRY_GIT_COMMIT: undefined,
      GITHUB_SHA: 'abc123',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/hunter2|tok-admin-123|redispw/);
    const { settings } = JSON.parse(r.stdout) as { settings: Line[] };
    expect(settings.map((s) => s.name)).toEqual(SETTING_NAMES);
    const by = new Map(settings.map((s) => [s.name, s]));
    expect(by.get('FERRY_MAX_ITEMS')).toMatchObject({ value: 50, source: 'environment' });
    expect(by.get('FERRY_BODY_LIMIT')).toMatchObject({ value: 1048576, source: 'default' });
    expect(by.get('FERRY_ADMIN_TOKEN')).toMatchObject({ value: '***', source: 'environment', secret: true });
    expect(by.get('FERRY_DB')).toMatchObject({ value: 'postgres://***@db.internal:5432/ferry' });
    expect(by.get('FERRY_CACHE')).toMatchObject({ value: 'redis://***@cache:6379' });
    expect(by.get('FERRY_ARTIFACTS')).toMatchObject({
      value: '/srv/ferry-home/artifacts',
      source: 'computed',
    });
    expect(by.get('FERRY_GIT_COMMIT')).toMatchObject({ value: 'abc123', from: 'GITHUB_SHA' });
    expect(by.get('FERRY_EVENTS_TOKEN')).toMatchObject({ value: null, source: 'default' });
  });

  it('prints one line per setting', async () => {
    const r = await runCli(['config'], { FERRY_LOG_LEVEL: 'debug', FERRY_PREDICTIONS_TOKEN: 'p-secret' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^FERRY_LOG_LEVEL +debug {2}\(environment\)$/m);
    expect(r.stdout).toMatch(/^FERRY_PREDICTIONS_TOKEN +\*\*\* {2}\(environment\)$/m);
    expect(r.stdout).not.toContain('p-secret');
    expect(r.stdout.trim().split('\n')).toHaveLength(SETTING_NAMES.length);
  });

  it('names every invalid setting in one FERRY_CONFIG_INVALID, secrets hidden', async () => {
    const r = await runCli(['config'], {
      FERRY_BATCH_LOCK_MS: 'NaN',
      FERRY_DEBUG: 'maybe',
      FERRY_DB: 'mysql://root:hunter2@db/x',
    });
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_CONFIG_INVALID');
    expect(r.stderr).toContain('FERRY_BATCH_LOCK_MS must be an integer in [1000, 3600000], got "NaN"');
    expect(r.stderr).toContain('FERRY_DEBUG must be true or false');
    expect(r.stderr).toContain('mysql://***@db/x');
    expect(r.stderr).not.toContain('hunter2');
  });
});
