/**
 * The batch inputs' invariant, over random corruptions (seeded, so a failure reproduces): every
 * input record ends as exactly one prediction or one reject. Checked on the physical lines: every
 * non-blank line of the file lies in the span (`line`..`endLine`) of exactly one output, no id is
 * predicted twice, and a prediction on a record's first line carries that record's id.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCsvInput } from '../../src/batch/job/inputs/csv-input.js';
import { openJsonlInput } from '../../src/batch/job/inputs/jsonl-input.js';
import { type Line, readLines } from '../../src/batch/job/inputs/line-reader.js';
import type { BatchInput, InputRecord } from '../../src/batch/job/types.js';
import { seededRandom } from '../../src/core/random.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const dir = tmpDir('ferry-batch-property-');
afterAll(() => dir.remove());

const SEEDS = 150;
const RECORDS = 40;

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const chance = (r: Rand, p: number) => r() < p;

const EOLS = ['\n', '\r\n', '\r'] as const;
const BAD_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xe2, 0x82])];
const WORDS = ['alpha', 'beta', 'naïve', 'with, comma', 'say "hi"', 'tab\there', '😀', '  padded  '];

/** Text of a field, possibly spread over several lines with random line ends. */
function fieldText(r: Rand): string {
  const n = Math.floor(r() * 3);
  let text = Array.from({ length: n }, () => pick(r, WORDS)).join(' ');
  if (chance(r, 0.15)) text += `${pick(r, EOLS)}${pick(r, WORDS)}`;
  return text;
}

function quoteIfNeeded(value: string, r: Rand): string {
  return /[",\r\n]/.test(value) || chance(r, 0.1) ? `"${value.replaceAll('"', '""')}"` : value;
}

type Corruption = 'none' | 'unclosed' | 'utf8' | 'stray' | 'bad-closing' | 'empty' | 'width' | 'crlf-split';
const CORRUPTIONS: readonly Corruption[] = [
  'unclosed',
  'utf8',
  'stray',
  'bad-closing',
  'empty',
  'width',
  'crlf-split',
];

/** One CSV record's bytes (without its line end), possibly corrupted. */
function csvRecord(r: Rand, id: string): Buffer {
  const corruption: Corruption = chance(r, 0.3) ? pick(r, CORRUPTIONS) : 'none';
  let title = quoteIfNeeded(fieldText(r) || 'title', r);
  let description = quoteIfNeeded(fieldText(r), r);
  const extra: string[] = [];
  switch (corruption) {
    case 'unclosed':
      title = `"${fieldText(r)}`;
      break;
    case 'stray':
      title = `ab"cd`;
      break;
    case 'bad-closing':
      description = `"closed"then`;
      break;
    case 'empty':
      title = '';
      description = '';
      break;
    case 'width':
      if (chance(r, 0.5)) extra.push('one too many');
      else description = '';
      break;
    case 'crlf-split':
      // A bare CR inside an unquoted field: a line end, so the record splits in two.
      title = `first\rsecond`;
      break;
    default:
      break;
  }
  const fields =
    corruption === 'width' && extra.length === 0 ? [id, title] : [id, title, description, ...extra];
  const text = Buffer.from(fields.join(','));
  if (corruption !== 'utf8') return text;
  const at = Math.floor(r() * (text.length + 1));
  return Buffer.concat([text.subarray(0, at), pick(r, BAD_UTF8), text.subarray(at)]);
}

interface Generated {
  bytes: Buffer;
  /** Record id by the physical line it starts on. */
  idByLine: Map<number, string>;
}

/** Physical line number (1-based) of each byte offset's line; CRLF, LF and lone CR end one line. */
function lineOfOffsets(bytes: Buffer): number[] {
  const lines = new Array<number>(bytes.length + 1);
  let line = 1;
  for (let i = 0; i < bytes.length; i++) {
    lines[i] = line;
    const b = bytes[i];
    if (b === 0x0a || (b === 0x0d && bytes[i + 1] !== 0x0a)) line++;
  }
  lines[bytes.length] = line;
  return lines;
}

/** The physical lines' texts (as latin1: only emptiness matters). */
function physicalLines(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '' && /[\r\n]$/.test(text)) lines.pop();
  return lines;
}

function generate(r: Rand, header: Buffer | undefined, record: (r: Rand, id: string) => Buffer): Generated {
  const parts: Buffer[] = [];
  const starts: Array<[number, string]> = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  if (header) push(Buffer.concat([header, Buffer.from(pick(r, EOLS))]));
  for (let i = 1; i <= RECORDS; i++) {
    const id = String(i);
    starts.push([offset, id]);
    push(record(r, id));
    const last = i === RECORDS;
    if (!last || chance(r, 0.5)) {
      const eol = pick(r, EOLS);
      push(Buffer.from(eol));
      // Blank lines, only after a LF: after a CR, a LF would merge with it into one line end.
      if (!last && eol !== '\r' && chance(r, 0.1)) push(Buffer.from('\n'));
    }
  }
  const bytes = Buffer.concat(parts);
  const lineOf = lineOfOffsets(bytes);
  return { bytes, idByLine: new Map(starts.map(([o, id]) => [lineOf[o]!, id])) };
}

let n = 0;
async function readAll(open: (path: string) => Promise<BatchInput>, bytes: Buffer, ext: string) {
  const path = join(dir.path, `in-${++n}.${ext}`);
  writeFileSync(path, bytes);
  const input = await open(path);
  const out: InputRecord[] = [];
  for await (const batch of input.records()) out.push(...batch);
  return out;
}

/** Every non-blank line after `firstLine` in exactly one output's span; predictions attributed right. */
function checkCoverage(g: Generated, outputs: InputRecord[], firstLine: number, seed: number): void {
  const where = `seed ${seed}`;
  const owner = new Map<number, number>();
  outputs.forEach((o, i) => {
    const end = o.endLine ?? o.line;
    expect(end, where).toBeGreaterThanOrEqual(o.line);
    for (let line = o.line; line <= end; line++) {
      expect(owner.has(line), `${where}: line ${line} in two outputs`).toBe(false);
      owner.set(line, i);
    }
  });
  physicalLines(g.bytes).forEach((text, i) => {
    const line = i + 1;
    if (line < firstLine || text === '') return;
    expect(
      owner.has(line),
      `${where}: line ${line} (${JSON.stringify(text)}) is neither predicted nor rejected`,
    ).toBe(true);
  });
  const ids = new Set<string>();
  for (const o of outputs) {
    if ('reason' in o) continue;
    // A continuation line of a corrupted record may itself read as a record; a record's start line
    // must give that record's id.
    const expected = g.idByLine.get(o.line);
    if (expected !== undefined) expect(o.id, `${where}: prediction at line ${o.line}`).toBe(expected);
    expect(ids.has(o.id), `${where}: id ${o.id} twice`).toBe(false);
    ids.add(o.id);
  }
}

describe('every input record is predicted or rejected, whatever the corruption', () => {
  it('the issue 8 reproduction: an unclosed quote then invalid UTF-8 loses no row', async () => {
    const bytes = Buffer.from(
      'id,title,description\n1,"bad quote,x\n2,valid row two,desc\n3,valid row three,desc\n4,bad \xff utf8,desc\n5,"closing quote here",desc\n6,last,desc\n',
      'latin1',
    );
    const out = await readAll((path) => openCsvInput({ path }), bytes, 'csv');
    expect(out.map((o) => ('reason' in o ? `reject ${o.line}` : `row ${o.id}`))).toEqual([
      'reject 2',
      'row 2',
      'row 3',
      'reject 5',
      'row 5',
      'row 6',
    ]);
  });

  it(`CSV: ${SEEDS} seeded files of unclosed quotes, invalid UTF-8, stray quotes, CR/LF mixes, empty fields`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = seededRandom(seed);
      const g = generate(r, Buffer.from('id,title,description'), csvRecord);
      const out = await readAll((path) => openCsvInput({ path, maxRecordBytes: 4096 }), g.bytes, 'csv');
      checkCoverage(g, out, 2, seed);
    }
  });

  it('readLines gives the same lines whatever the chunk boundaries (CR|LF split, multi-byte characters split)', async () => {
    async function* chunks(bytes: Buffer, r: Rand): AsyncGenerator<Buffer> {
      for (let i = 0; i < bytes.length; ) {
        const size = 1 + Math.floor(r() * 7);
        yield bytes.subarray(i, i + size);
        i += size;
      }
    }
    const lines = async (source: AsyncIterable<Buffer>) => {
      const out: Line[] = [];
      for await (const batch of readLines(source, { maxLineBytes: 4096 })) out.push(...batch);
      return out;
    };
    for (let seed = 1; seed <= 40; seed++) {
      const r = seededRandom(20_000 + seed);
      const g = generate(r, Buffer.from('id,title,description'), csvRecord);
      const whole = await lines(
        (async function* () {
          yield g.bytes;
        })(),
      );
      expect(whole.length, `seed ${seed}`).toBe(physicalLines(g.bytes).length);
      expect(await lines(chunks(g.bytes, r)), `seed ${seed}`).toEqual(whole);
    }
  });

  it(`JSONL: ${SEEDS} seeded files of truncated objects, invalid UTF-8, non-objects, CR/LF mixes, empty fields`, async () => {
    const jsonlRecord = (r: Rand, id: string): Buffer => {
      const obj: Record<string, unknown> = {
        id: chance(r, 0.2) ? Number(id) : id,
        title: fieldText(r) || 't',
      };
      if (chance(r, 0.7)) obj.description = fieldText(r);
      let text = JSON.stringify(obj);
      switch (chance(r, 0.35) ? Math.floor(r() * 6) : -1) {
        case 0:
          text = text.slice(0, Math.max(1, Math.floor(r() * text.length))); // truncated
          break;
        case 1: {
          const at = Math.floor(r() * (text.length + 1));
          return Buffer.concat([
            Buffer.from(text.slice(0, at)),
            pick(r, BAD_UTF8),
            Buffer.from(text.slice(at)),
          ]);
        }
        case 2:
          text = `[${text}]`;
          break;
        case 3:
          text = JSON.stringify({ id, title: '', description: '' });
          break;
        case 4:
          text = JSON.stringify({ title: 'no id' });
          break;
        case 5:
          text = `${text.slice(0, 5)}\r${text.slice(5)}`; // a CR splits it: two broken lines
          break;
        default:
          break;
      }
      return Buffer.from(text);
    };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = seededRandom(10_000 + seed);
      // The first line stands for a header: keep it well-formed.
      const first = Buffer.from(JSON.stringify({ id: 'head', title: 'h', description: 'h' }));
      const g = generate(r, first, jsonlRecord);
      g.idByLine.set(1, 'head');
      const out = await readAll((path) => openJsonlInput({ path, maxRecordBytes: 4096 }), g.bytes, 'jsonl');
      checkCoverage(g, out, 1, seed);
    }
  });
});
