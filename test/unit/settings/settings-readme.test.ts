import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, README, settingsTable } from '../../../scripts/settings-table.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { SETTING_NAMES, SETTINGS } from '../../../src/core/settings/catalogue.js';
import { defaultText } from '../../../src/core/settings/read-settings.js';

/** Variables the tests read (not Ferry): documented in the README's quick start, not settings. */
const TEST_ONLY = new Set(['FERRY_TEST_PG_URL', 'FERRY_TEST_REDIS_URL']);

const readme = readFileSync(README, 'utf8');

/** The README's Settings table: setting name → default cell. */
function documented(): Map<string, string> {
  const section = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| [^|]+ \| `([A-Z0-9_]+)` \| ((?:[^|\\]|\\.)+) \|/gm)) {
    rows.set(m[1]!, m[2]!.trim());
  }
  return rows;
}

describe("the README's Settings table and the settings module", () => {
  it('is the generated table (run `npm run docs:settings` after changing a setting)', () => {
    const section = readme.slice(readme.indexOf(BEGIN) + BEGIN.length, readme.indexOf(END)).trim();
    expect(section).toBe(settingsTable());
  });

  it('documents every setting with its default', () => {
    const rows = documented();
    for (const name of SETTING_NAMES) expect(rows.get(name), name).toBe(defaultText(SETTINGS[name]));
  });

  it('documents no setting the module does not have', () => {
    expect([...documented().keys()].sort()).toEqual([...SETTING_NAMES].sort());
  });

  it('every FERRY_* name in the README is a setting, an error code or a test-only variable', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    const settings = new Set<string>(SETTING_NAMES);
    const unknown = [...readme.matchAll(/\bFERRY_[A-Z0-9_]*[A-Z0-9]\b/g)]
      .map((m) => m[0])
      .filter((n) => !settings.has(n) && !codes.has(n) && !TEST_ONLY.has(n));
    expect([...new Set(unknown)]).toEqual([]);
  });
});
