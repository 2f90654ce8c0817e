import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { endsInsideQuotes, openCsvInput, parseCsvRecord } from '../../src/batch/job/inputs/csv-input.js';
import { type Line, readLines } from '../../src/batch/job/inputs/line-reader.js';
import type { InputRecord } from '../../src/batch/job/types.js';
import { ErrorCode } from '../../src/core/errors.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const dir = tmpDir('ferry-batch-csv-');
afterAll(() => dir.remove());

let n = 0;
function file(content: string | Buffer, ext = 'csv'): string {
  const path = join(dir.path, `input-${++n}.${ext}`);
  writeFileSync(path, content);
  return path;
}

async function readAll(path: string, opts: { idColumn?: string; maxRecordBytes?: number } = {}) {
  const input = await openCsvInput({ path, ...opts });
  const out: InputRecord[] = [];
  for await (const batch of input.records()) out.push(...batch);
  return { input, records: out };
}

const rejectLines = (records: InputRecord[]) => records.filter((r) => 'reason' in r).map((r) => r.line);
const rowIds = (records: InputRecord[]) => records.filter((r) => !('reason' in r)).map((r) => r.id);

describe('CSV input', () => {
  it('reads quoted commas, quoted newlines and doubled quotes, with the line each record starts on', async () => {
    const { records } = await readAll(
      file(
        'id,title,description\n' +
          '1,"Hello, world","a ""quoted"" word"\n' +
          '2,"two\nlines","and\nthree\nlines"\n' +
          '\n' +
          '3,plain,text\n',
      ),
    );
    expect(records).toEqual([
      { line: 2, id: '1', title: 'Hello, world', description: 'a "quoted" word' },
      { line: 3, endLine: 6, id: '2', title: 'two\nlines', description: 'and\nthree\nlines' },
      { line: 8, id: '3', title: 'plain', description: 'text' },
    ]);
  });

  it('drops a UTF-8 BOM and counts CRLF (inside quoted fields too) and lone CR as one line end', async () => {
    const { records } = await readAll(
      file('\ufeffid,title,description\r\n1,"multi\r\nline",x\r\n2,b,c\r3,"é ü 😀","d"\r\n'),
    );
    expect(records).toEqual([
      { line: 2, endLine: 3, id: '1', title: 'multi\nline', description: 'x' },
      { line: 4, id: '2', title: 'b', description: 'c' },
      { line: 5, id: '3', title: 'é ü 😀', description: 'd' },
    ]);
  });

  it('matches header names case-insensitively and takes --id-column', async () => {
    const { records, input } = await readAll(file(' Project_ID ,TITLE,Description,tag\nP-1,t,d,x\n'), {
      idColumn: 'project_id',
    });
    expect(records).toEqual([{ line: 2, id: 'P-1', title: 't', description: 'd' }]);
    expect(input.kind).toBe('csv');
  });

  it('rejects bad rows with their line and reason and goes on', async () => {
    const { records } = await readAll(
      file(
        [
          'id,title,description', // 1
          '1,ok,fine', // 2
          ',no id,here', // 3
          '3,,', // 4
          '4,"bad"quote,x', // 5
          '5,stray"quote,x', // 6
          '6,too,many,fields', // 7
          '7,short', // 8
          '8,  ,  ', // 9
          '9,fine,again', // 10
        ].join('\n'),
      ),
    );
    expect(rowIds(records)).toEqual(['1', '9']);
    const rejects = records.filter((r) => 'reason' in r);
    expect(rejects.map((r) => [r.line, r.id ?? null])).toEqual([
      [3, null],
      [4, '3'],
      [5, null],
      [6, null],
      [7, null],
      [8, null],
      [9, '8'],
    ]);
    const reasons = rejects.map((r) => ('reason' in r ? r.reason : ''));
    expect(reasons[0]).toBe('missing id');
    expect(reasons[1]).toBe('empty title and description');
    expect(reasons[2]).toMatch(/closing quote/);
    expect(reasons[3]).toMatch(/quote inside an unquoted field/);
    expect(reasons[4]).toMatch(/4 fields where the header has 3/);
    expect(reasons[5]).toMatch(/2 fields/);
  });

  it('an unclosed quote costs its own line only: reading resumes on the next line', async () => {
    const { records } = await readAll(
      file('id,title,description\n1,"never closed,x\n2,b,c\n3,"x ""y""",z\n4,"open again,d\n5,e,f\n'),
    );
    expect(rejectLines(records)).toEqual([2, 5]);
    expect(rowIds(records)).toEqual(['2', '3', '5']);
    expect(records.find((r) => r.id === '3')).toMatchObject({ line: 4, title: 'x "y"' });
  });

  it('an unclosed quote that runs past the record size limit is cut there, memory stays bounded', async () => {
    const body = Array.from({ length: 200 }, (_, i) => `${i + 10},title ${i},description ${i}`).join('\n');
    const { records } = await readAll(file(`id,title,description\n1,"open,x\n${body}\n`), {
      maxRecordBytes: 256,
    });
    expect(rejectLines(records)).toEqual([2]);
    expect(rowIds(records)).toHaveLength(200);
  });

  it('rows whose text cleans to nothing or exceeds the HTTP limit are rejects, with the rule /predict applies', async () => {
    const path = file(
      'id,title,description\n1,ok,fine\n2,\u200d\u200c,\u0301\n3,\u0000,\n' +
        `4,${'a'.repeat(20_001)},x\n5,also ok,\n`,
    );
    const { records } = await readAll(path);
    expect(rowIds(records)).toEqual(['1', '5']);
    const reasons = records.flatMap((r) => ('reason' in r ? [[r.id, r.reason]] : []));
    expect(reasons).toEqual([
      ['2', 'empty title and description once cleaned (no letter or digit)'],
      ['3', 'empty title and description once cleaned (no letter or digit)'],
      ['4', 'title has 20001 characters, the limit is 20000'],
    ]);
  });

  it('a line longer than the limit is rejected without being held in memory', async () => {
    const long = 'x'.repeat(5000);
    const { records } = await readAll(file(`id,title,description\n1,${long},d\n2,t,d\n`), {
      maxRecordBytes: 1000,
    });
    expect(rejectLines(records)).toEqual([2]);
    expect(rowIds(records)).toEqual(['2']);
  });

  it('bytes that are not UTF-8 reject the record they are in, with its line', async () => {
    const bad = Buffer.concat([
      Buffer.from('id,title,description\n1,ok,ok\n2,"bad '),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\nstill field",x\n3,é,fine\n'),
    ]);
    const { records } = await readAll(file(bad));
    expect(rowIds(records)).toEqual(['1', '3']);
    expect(records[1]).toMatchObject({ line: 3, reason: 'not valid UTF-8 (line 3)' });
    expect(records[2]).toMatchObject({ line: 5, title: 'é' });
  });

  it('fails before reading any record: missing id column, missing text columns, missing or empty file', async () => {
    const noId = await expectFerryError(
      openCsvInput({ path: file('key,title,description\n1,a,b\n') }),
      ErrorCode.BATCH_MISSING_COLUMN,
      400,
    );
    expect(noId.details.missing).toEqual(['id']);
    expect(noId.message).toMatch(/--id-column/);
    const noText = await expectFerryError(
      openCsvInput({ path: file('id,name\n1,a\n') }),
      ErrorCode.BATCH_MISSING_COLUMN,
    );
    expect(noText.details.missing).toEqual(['title', 'description']);
    await expectFerryError(
      openCsvInput({ path: join(dir.path, 'nope.csv') }),
      ErrorCode.BATCH_INPUT_NOT_FOUND,
      400,
    );
    const sub = join(dir.path, 'a-directory.csv');
    mkdirSync(sub);
    await expectFerryError(openCsvInput({ path: sub }), ErrorCode.BATCH_INPUT_UNREADABLE, 400);
    await expectFerryError(openCsvInput({ path: file('') }), ErrorCode.DATA_EMPTY);
    await expectFerryError(openCsvInput({ path: file('"id,title\n') }), ErrorCode.BATCH_INPUT_INVALID);
  });

  it('a header with no rows is an input of no records', async () => {
    expect((await readAll(file('id,title,description\n'))).records).toEqual([]);
  });

  it('identity is the sha256 of the bytes: same content elsewhere, same identity', async () => {
    const text = 'id,title,description\n1,a,b\n';
    const a = await openCsvInput({ path: file(text) });
    const b = await openCsvInput({ path: file(text) });
    const c = await openCsvInput({ path: file(`${text}2,c,d\n`) });
    expect(a.identity).toBe(b.identity);
    expect(a.identity).toMatch(/^[0-9a-f]{64}$/);
    expect(c.identity).not.toBe(a.identity);
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});

describe('readLines', () => {
  async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  async function lines(bytes: Buffer, size: number, maxLineBytes = 1 << 20): Promise<Line[]> {
    const out: Line[] = [];
    for await (const batch of readLines(chunks(bytes, size), { maxLineBytes })) out.push(...batch);
    return out;
  }

  it('gives the same lines whatever the chunking: CRLF and multi-byte characters split across chunks', async () => {
    const bytes = Buffer.concat([
      Buffer.from('\ufeffa,b\r\nçé😀\r\n\r\nlone\rcr\n'),
      Buffer.from([0xff]),
      Buffer.from('bad\r\nlast'),
    ]);
    const whole = await lines(bytes, bytes.length);
    expect(whole).toEqual([
      { no: 1, text: 'a,b' },
      { no: 2, text: 'çé😀' },
      { no: 3, text: '' },
      { no: 4, text: 'lone' },
      { no: 5, text: 'cr' },
      { no: 6, text: '\ufffdbad', bad: 'utf8' },
      { no: 7, text: 'last' },
    ]);
    for (const size of [1, 2, 3, 5, 7]) expect(await lines(bytes, size)).toEqual(whole);
  });

  it('reports a too-long line once, in place, whatever the chunking', async () => {
    const bytes = Buffer.from(`short\n${'y'.repeat(100)}\nafter\n${'z'.repeat(50)}`);
    for (const size of [1, 8, 1000]) {
      expect(await lines(bytes, size, 20)).toEqual([
        { no: 1, text: 'short' },
        { no: 2, text: '', bad: 'too-long' },
        { no: 3, text: 'after' },
        { no: 4, text: '', bad: 'too-long' },
      ]);
    }
  });
});

describe('parseCsvRecord agrees with csv-parse', () => {
  function csvParse(text: string): string[] | 'error' {
    try {
      const rows = parse(`${text}\n`, { relax_column_count: true, record_delimiter: '\n' }) as string[][];
      return rows.length === 1 ? rows[0]! : 'error';
    } catch {
      return 'error';
    }
  }
  const ours = (text: string): string[] | 'error' => {
    const r = parseCsvRecord(text);
    return Array.isArray(r) ? r : 'error';
  };

  it.each([
    'a,b,c',
    'a,,c,',
    ',',
    '"a,b","c""d",e',
    '"multi\nline",x',
    '"",""',
    '"a"b,c',
    'a"b,c',
    '"unclosed,x',
    '"a" ,b',
    ' "a",b',
    'é,😀,"ü"',
  ])('%j', (text) => {
    expect(ours(text)).toEqual(csvParse(text));
  });

  it('on 3,000 random records built from quotes, commas, newlines and text', () => {
    let seed = 12345;
    const rand = (k: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    const alphabet = ['a', 'b', ' ', 'é', ',', '"', '""', '\n'];
    let compared = 0;
    let errors = 0;
    for (let t = 0; t < 3000; t++) {
      const fields: string[] = [];
      for (let f = rand(4) + 1; f > 0; f--) {
        let content = '';
        for (let c = rand(6); c > 0; c--) content += alphabet[rand(alphabet.length)];
        const quoted = rand(2) === 0;
        if (quoted)
          fields.push(`"${content.replaceAll('"', rand(5) === 0 ? '"' : '""')}"${rand(8) === 0 ? 'x' : ''}`);
        else fields.push(content.replaceAll('\n', '').replaceAll(',', ''));
      }
      const text = fields.join(',');
      // Only texts the splitter would hand over as one record (no line end outside quotes).
      const lines = text.split('\n');
      let inside = false;
      let oneRecord = true;
      for (let i = 0; i < lines.length; i++) {
        inside = endsInsideQuotes(lines[i]!, inside);
        if (!inside && i < lines.length - 1) oneRecord = false;
      }
      if (!oneRecord || inside) continue;
      const expected = csvParse(text);
      expect(ours(text), JSON.stringify(text)).toEqual(expected);
      compared++;
      if (expected === 'error') errors++;
    }
    expect(compared).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(100);
  });
});

describe('CSV input: a too-long line inside an open quote', () => {
  it('rejects the record start and the long line, and reads the lines between again', async () => {
    const long = 'x'.repeat(3000);
    const path = file(`id,title,description\n1,"open,x\n2,b,c\n${long}\n3,d,e\n`);
    const { records } = await readAll(path, { maxRecordBytes: 1000 });
    expect(rejectLines(records)).toEqual([2, 4]);
    expect(rowIds(records)).toEqual(['2', '3']);
  });
});
