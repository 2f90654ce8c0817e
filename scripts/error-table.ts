/**
 * The README's error table, generated from the catalogue (ERROR_CODES in src/core/errors.ts) so the
 * two cannot drift: `npm run errors:table` rewrites it between the markers, `-- --check` only says
 * whether it is current (test/unit/error-codes.test.ts checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ERROR_CODES } from '../src/core/errors.js';

export const TABLE_START =
  '<!-- error-codes:start: generated from src/core/errors.ts by `npm run errors:table` -->';
export const TABLE_END = '<!-- error-codes:end -->';
export const README_PATH = resolve(import.meta.dirname, '../README.md');

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.description} |`,
  );
  return ['| code | status | when |', '|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the markers replaced by the current table. */
export function withErrorTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${TABLE_START} … ${TABLE_END}`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderErrorTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const readme = readFileSync(README_PATH, 'utf8');
  const next = withErrorTable(readme);
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      process.stderr.write('README.md error table is stale: run npm run errors:table\n');
      process.exitCode = 1;
    }
  } else if (next !== readme) {
    writeFileSync(README_PATH, next);
    process.stdout.write('README.md error table rewritten\n');
  }
}
