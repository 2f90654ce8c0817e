import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { readDatasetLocation } from '../../../src/train/dataset-location.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const enc = (s: string) => new TextEncoder().encode(s);
const parse = (s: string | Uint8Array, knownTags?: string[]) =>
  parseLabeledDataset(typeof s === 'string' ? enc(s) : s, 'test.csv', knownTags ? { knownTags } : {});
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('parseLabeledDataset', () => {
  it('reads quoted fields with commas, quotes and newlines, a BOM and CRLF line ends', () => {
    const csv =
      '\uFEFFid,title,description,tag\r\n1,"A, B","He said ""hi""\r\nthen left",mlops\r\n2,T,D,other\r\n';
    const d = parse(csv);
    expect(d.rows).toHaveLength(2);
    expect(d.rows[0]).toMatchObject({
      id: '1',
      title: 'A, B',
      description: 'He said "hi"\nthen left',
      tag: 'mlops',
      line: 2,
    });
    expect(d.rows[1]).toMatchObject({ id: '2', line: 4 });
  });

  it('accepts header names in any case and with spaces', () => {
    expect(parse(' ID , Title ,Description,TAG\n1,a,b,c\n').rows[0]!.tag).toBe('c');
  });

  it('fingerprints the bytes', () => {
    expect(parse('id,title,description,tag\n1,a,b,c\n').sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['an empty file', '', 'FERRY_DATA_EMPTY'],
    ['a header without rows', 'id,title,description,tag\n', 'FERRY_DATA_EMPTY'],
    ['a missing column', 'id,title,tag\n1,a,b\n', 'FERRY_DATA_MISSING_COLUMN'],
    ['a misnamed column', 'id,title,desc,tag\n1,a,b,c\n', 'FERRY_DATA_MISSING_COLUMN'],
    ['a row with empty text', 'id,title,description,tag\n1,a,b,c\n2, ,,c\n', 'FERRY_DATA_EMPTY_TEXT'],
    ['duplicate ids', 'id,title,description,tag\n1,a,b,c\n1,d,e,c\n', 'FERRY_DATA_DUPLICATE_ID'],
    ['an empty id', 'id,title,description,tag\n,a,b,c\n', 'FERRY_DATA_MISSING_COLUMN'],
    ['an empty tag', 'id,title,description,tag\n1,a,b,\n', 'FERRY_DATA_UNKNOWN_LABEL'],
    ['unbalanced quotes', 'id,title,description,tag\n1,"a,b,c\n', 'FERRY_DATA_PARSE'],
    ['a row with too many fields', 'id,title,description,tag\n1,a,b,c,d\n', 'FERRY_DATA_PARSE'],
  ])('rejects %s with a stable code', (_what, csv, code) => {
    expect(codeOf(() => parse(csv))).toBe(code);
  });

  it('suggests the rename for a misnamed column', () => {
    try {
      parse('id,title,desc,tag\n1,a,b,c\n');
    } catch (e) {
      expect((e as { details: { column: string } }).details.column).toBe('description');
    }
  });

  it('rejects non-UTF-8 bytes, naming the line', () => {
    const bytes = Buffer.concat([
      Buffer.from('id,title,description,tag\n1,caf'),
      Buffer.from([0xe9]),
      Buffer.from(',x,c\n'),
    ]);
    try {
      parse(bytes);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('FERRY_DATA_ENCODING');
      expect((e as { details: { line: number } }).details.line).toBe(2);
    }
  });

  it('rejects a tag the model does not know in an evaluation set', () => {
    expect(codeOf(() => parse('id,title,description,tag\n1,a,b,robotics\n', ['mlops', 'other']))).toBe(
      'FERRY_DATA_UNKNOWN_LABEL',
    );
  });
});

describe('readDatasetLocation', () => {
  const dir = tmpDir();
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url === '/data.csv') res.end('id,title,description,tag\n1,a,b,c\n');
    else res.writeHead(404).end();
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    dir.remove();
  });

  it('downloads a URL once and then reads it from the cache', async () => {
    const first = await readDatasetLocation(`${base}/data.csv`, { cacheDir: dir.path });
    const second = await readDatasetLocation(`${base}/data.csv`, { cacheDir: dir.path });
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(hits).toBe(1);
  });

  it('reports an HTTP error and an unreachable host as FERRY_DATA_UNREACHABLE', async () => {
    await expect(readDatasetLocation(`${base}/missing.csv`, { cacheDir: dir.path })).rejects.toMatchObject({
      code: 'FERRY_DATA_UNREACHABLE',
    });
    await expect(
      readDatasetLocation('http://127.0.0.1:9/x.csv', { cacheDir: dir.path, timeoutMs: 2000 }),
    ).rejects.toMatchObject({
      code: 'FERRY_DATA_UNREACHABLE',
    });
  });

  it('reports a missing file as FERRY_DATA_NOT_FOUND', async () => {
    await expect(readDatasetLocation(`${dir.path}/nope.csv`, { cacheDir: dir.path })).rejects.toMatchObject({
      code: 'FERRY_DATA_NOT_FOUND',
    });
  });
});
