import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { README_PATH, renderErrorTable, TABLE_END, TABLE_START } from '../../scripts/error-table.js';
import { ERROR_CODES, ErrorCode, FerryError, isErrorCode, toFerryError } from '../../src/core/errors.js';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The README's error table: code → status, as printed. */
function readmeTable(): { text: string; statuses: Map<string, number> } {
  const readme = readFileSync(README_PATH, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  expect(start, 'README.md has the error table markers').toBeGreaterThanOrEqual(0);
  const text = readme.slice(start + TABLE_START.length, end).trim();
  const statuses = new Map<string, number>();
  for (const m of text.matchAll(/^\| `(FERRY_[A-Z0-9_]+)` \| (\d{3}) \|/gm))
    statuses.set(m[1]!, Number(m[2]));
  return { text, statuses };
}

describe('error codes', () => {
  it("README's table lists every code of the catalogue with its status, and no other", () => {
    const { statuses } = readmeTable();
    const catalogue = new Map(Object.entries(ERROR_CODES).map(([code, spec]) => [code, spec.status]));
    expect(
      [...catalogue.keys()].filter((c) => !statuses.has(c)),
      'codes missing from the README',
    ).toEqual([]);
    expect(
      [...statuses.keys()].filter((c) => !catalogue.has(c)),
      'README codes not in the catalogue',
    ).toEqual([]);
    expect(statuses).toEqual(catalogue);
  });

  it('the README table is the generated one (npm run errors:table)', () => {
    expect(readmeTable().text).toBe(renderErrorTable());
  });

  it('a FerryError takes its status from the catalogue, for every code', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(isErrorCode(code)).toBe(true);
      const e = new FerryError(code as keyof typeof ERROR_CODES, 'x');
      expect(e.status).toBe(spec.status);
      expect(e.status >= 400 && e.status < 600).toBe(true);
    }
    expect(toFerryError(new Error('boom'))).toMatchObject({ code: 'FERRY_INTERNAL', status: 500 });
  });

  it('ErrorCode names each code without its FERRY_ prefix', () => {
    expect(Object.keys(ErrorCode).length).toBe(Object.keys(ERROR_CODES).length);
    for (const [name, code] of Object.entries(ErrorCode)) expect(code).toBe(`FERRY_${name}`);
    expect(isErrorCode('FERRY_NO_SUCH_CODE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('a code that is not in the catalogue is a type error', () => {
    // @ts-expect-error: tsc (npm run typecheck) fails here if a typo in a code were accepted.
    const typo = () => new FerryError('FERRY_CONFIG_INVALDI', 'typo');
    // Past the type checker (plain JavaScript), it has no status to take.
    expect(typo).toThrow(TypeError);
  });

  it('every code is raised somewhere in src/ (unused codes are removed)', () => {
    const text = sourceFiles(SRC)
      .filter((f) => !f.endsWith(join('core', 'errors.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(ERROR_CODES).filter(
      (code) => !text.includes(`ErrorCode.${code.slice('FERRY_'.length)}`) && !text.includes(`'${code}'`),
    );
    expect(unused).toEqual([]);
  });
});
