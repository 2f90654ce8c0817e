import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { openJsonlInput } from '../../src/batch/job/inputs/jsonl-input.js';
import { formatOfPath } from '../../src/batch/job/inputs/open-input.js';
import { describeDbUrl, openSqlInput } from '../../src/batch/job/inputs/sql-input.js';
import { hash64, SeenIds } from '../../src/batch/job/seen-ids.js';
import type { BatchInput, InputRecord } from '../../src/batch/job/types.js';
import { ErrorCode } from '../../src/core/errors.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const dir = tmpDir('ferry-batch-inputs-');
afterAll(() => dir.remove());

let n = 0;
function file(content: string | Buffer, ext = 'jsonl'): string {
  const path = join(dir.path, `input-${++n}.${ext}`);
  writeFileSync(path, content);
  return path;
}

async function all(input: BatchInput): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const batch of input.records()) out.push(...batch);
  return out;
}

describe('JSONL input', () => {
  it('reads one object per line; number ids become text; absent text is empty; blank lines are skipped', async () => {
    const path = file(
      [
        '{"id": "a", "title": "Hello", "description": "World", "extra": 1}',
        '',
        '{"id": 7, "title": "Only a title"}',
        '   ',
        '{"id": "c", "title": null, "description": "only a description"}',
      ].join('\n'),
    );
    const records = await all(await openJsonlInput({ path }));
    expect(records).toEqual([
      { line: 1, id: 'a', title: 'Hello', description: 'World' },
      { line: 3, id: '7', title: 'Only a title', description: '' },
      { line: 5, id: 'c', title: '', description: 'only a description' },
    ]);
  });

  it('rejects malformed lines with their line number and reason, and goes on', async () => {
    const path = file(
      [
        '{"id": "1", "title": "ok", "description": "ok"}',
        '{"id": "2", "title": "broken"',
        '[1, 2]',
        '{"title": "no id"}',
        '{"id": "5", "title": 5}',
        '{"id": {"x": 1}, "title": "object id"}',
        '{"id": "7", "title": "", "description": " "}',
        '{"id": "8", "title": "fine"}\r',
      ].join('\n'),
    );
    const records = await all(await openJsonlInput({ path }));
    expect(records.map((r) => ('reason' in r ? [r.line, r.reason] : [r.line, r.id]))).toEqual([
      [1, '1'],
      [2, expect.stringMatching(/^malformed JSON/)],
      [3, 'expected a JSON object'],
      [4, 'missing id'],
      [5, '"title" must be a string'],
      [6, '"id" must be a string or a number'],
      [7, 'empty title and description'],
      [8, '8'],
    ]);
  });

  it('takes --id-column; a first object without the id key fails before any record', async () => {
    const path = file('{"key": "k1", "title": "t"}\n');
    expect(await all(await openJsonlInput({ path, idColumn: 'key' }))).toEqual([
      { line: 1, id: 'k1', title: 't', description: '' },
    ]);
    const e = await expectFerryError(openJsonlInput({ path }), ErrorCode.BATCH_MISSING_COLUMN, 400);
    expect(e.details.missing).toEqual(['id']);
    await expectFerryError(openJsonlInput({ path: file('\n\n') }), ErrorCode.DATA_EMPTY);
    await expectFerryError(
      openJsonlInput({ path: join(dir.path, 'missing.jsonl') }),
      ErrorCode.BATCH_INPUT_NOT_FOUND,
    );
  });

  it('format follows the extension', () => {
    expect(formatOfPath('a/b.jsonl')).toBe('jsonl');
    expect(formatOfPath('b.NDJSON')).toBe('jsonl');
    expect(formatOfPath('b.csv')).toBe('csv');
    expect(formatOfPath('b.txt')).toBe('csv');
  });
});

describe('SQL input (SQLite)', () => {
  async function db(rows: [unknown, unknown, unknown][]): Promise<{ client: SqliteClient; url: string }> {
    const path = join(dir.path, `db-${++n}.db`);
    const client = new SqliteClient({ path });
    await client.init();
    await client.execute('CREATE TABLE projects (id TEXT, title TEXT, description TEXT, tag TEXT)');
    for (const [id, title, description] of rows) {
      await client.execute('INSERT INTO projects (id, title, description) VALUES ($1, $2, $3)', [
        id as string,
        title as string,
        description as string,
      ]);
    }
    return { client, url: `sqlite:${path}` };
  }

  it('reads the rows in id order, in pages, rejects included, with row numbers as lines', async () => {
    const { client, url } = await db([
      ['c', 'T c', 'D c'],
      [null, 'no id', 'x'],
      ['a', 'T a', 'D a'],
      ['b', '', ''],
      ["it's; 100%", 'quote', 'semicolon'],
      ['d', 'T d', null],
    ]);
    const input = await openSqlInput({
      client,
      query: 'SELECT id, title, description FROM projects;',
      dbUrl: url,
      pageSize: 2,
    });
    expect(input.totalRecords).toBe(6);
    const records = await all(input);
    expect(records).toEqual([
      { line: 1, reason: 'missing id' },
      { line: 2, id: 'a', title: 'T a', description: 'D a' },
      { line: 3, id: 'b', reason: 'empty title and description' },
      { line: 4, id: 'c', title: 'T c', description: 'D c' },
      { line: 5, id: 'd', title: 'T d', description: '' },
      { line: 6, id: "it's; 100%", title: 'quote', description: 'semicolon' },
    ]);
    expect(input.progress()).toEqual({ unit: 'rows', done: 6, total: 6 });
    await client.close();
  });

  it('keeps every row of an id repeated across a page boundary (the job rejects the repeats)', async () => {
    const rows: [unknown, unknown, unknown][] = [];
    for (const id of ['a', 'b', 'b', 'b', 'b', 'b', 'c', 'd', 'd']) rows.push([id, `t ${id}`, 'd']);
    const { client, url } = await db(rows);
    for (const pageSize of [1, 2, 3, 4, 100]) {
      const records = await all(
        await openSqlInput({ client, query: 'SELECT * FROM projects', dbUrl: url, pageSize }),
      );
      expect(records.map((r) => r.id)).toEqual(['a', 'b', 'b', 'b', 'b', 'b', 'c', 'd', 'd']);
      expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    await client.close();
  });

  it('fails before reading: a missing column, a query the database refuses', async () => {
    const { client, url } = await db([['a', 't', 'd']]);
    const e = await expectFerryError(
      openSqlInput({ client, query: 'SELECT id AS key, title, description FROM projects', dbUrl: url }),
      ErrorCode.BATCH_MISSING_COLUMN,
      400,
    );
    expect(e.details.missing).toEqual(['id']);
    const byKey = await openSqlInput({
      client,
      query: 'SELECT id AS key, title, description FROM projects',
      dbUrl: url,
      idColumn: 'KEY',
    });
    expect((await all(byKey)).map((r) => r.id)).toEqual(['a']);
    await expectFerryError(
      openSqlInput({ client, query: 'SELECT * FROM nowhere', dbUrl: url }),
      ErrorCode.BATCH_INPUT_INVALID,
      400,
    );
    await expectFerryError(openSqlInput({ client, query: '  ;', dbUrl: url }), ErrorCode.BATCH_INPUT_INVALID);
    await client.close();
  });

  it('identity: the query and the database without its password', async () => {
    expect(describeDbUrl('postgres://u:secret@h:5432/db?schema=s')).toBe('postgres://u@h:5432/db?schema=s');
    expect(describeDbUrl('sqlite:/tmp/x.db')).toBe('sqlite:/tmp/x.db');
    const { client, url } = await db([['a', 't', 'd']]);
    const a = await openSqlInput({ client, query: 'SELECT * FROM projects', dbUrl: url });
    const b = await openSqlInput({ client, query: 'SELECT * FROM projects', dbUrl: url });
    const c = await openSqlInput({ client, query: 'SELECT * FROM projects WHERE 1 = 1', dbUrl: url });
    expect(a.identity).toBe(b.identity);
    expect(c.identity).not.toBe(a.identity);
    expect(a.description).not.toMatch(/secret/);
    await client.close();
  });
});

describe('SeenIds', () => {
  it('tells new ids from repeats, with the first line, across growth', () => {
    const seen = new SeenIds(16);
    let added = 0;
    for (let i = 0; i < 50_000; i++) if (seen.add(`id-${i}`, i + 2) === undefined) added++;
    expect(added).toBe(50_000);
    expect(seen.size).toBe(50_000);
    expect(seen.add('id-0', 99)).toBe(2);
    expect(seen.add('id-49999', 99)).toBe(50_001);
    expect(seen.has('id-50000')).toBe(false);
    expect(seen.add('', 5)).toBeUndefined();
    expect(seen.add('', 6)).toBe(5);
  });

  it('hashes to 64 bits with a non-zero second half', () => {
    const hashes = new Set<string>();
    let zeros = 0;
    for (let i = 0; i < 100_000; i++) {
      const [a, b] = hash64(`x${i}`);
      if (b === 0) zeros++;
      hashes.add(`${a}:${b}`);
    }
    expect(zeros).toBe(0);
    expect(hashes.size).toBe(100_000);
  });
});
