import { isUtf8 } from 'node:buffer';

/** One physical line of a text file, without its line end. */
export interface Line {
  /** 1-based line number; CRLF, LF and a lone CR each end one line. */
  readonly no: number;
  readonly text: string;
  /** `utf8`: the line holds bytes that are not UTF-8 (text has U+FFFD there); `too-long`: text is ''. */
  readonly bad?: 'utf8' | 'too-long';
}

export interface ReadLinesOptions {
  /** A line longer than this (bytes) is dropped as it streams and reported `too-long`. */
  maxLineBytes: number;
  /** Called with the size of every chunk read, for progress. */
  onBytes?: (n: number) => void;
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Splits a byte stream into lines, in batches (one per chunk read), with memory bounded by the
 * chunk size plus one line. Line ends are normalised (CRLF and lone CR become one break, so line
 * numbers are what an editor shows), a UTF-8 byte order mark is dropped, and UTF-8 is validated
 * per line: a newline byte never occurs inside a multi-byte sequence, so one bad byte spoils one
 * line, not the file.
 */
export async function* readLines(
  source: AsyncIterable<Uint8Array>,
  opts: ReadLinesOptions,
): AsyncGenerator<Line[]> {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let carry: Buffer = Buffer.alloc(0);
  let pendingCr = false;
  let first = true;
  let lineNo = 1;
  /** The line in progress is longer than the limit: its bytes are being dropped. */
  let dropping = false;

  const emit = (out: Line[], bytes: Buffer, start: number, end: number) => {
    if (dropping) {
      out.push({ no: lineNo++, text: '', bad: 'too-long' });
      dropping = false;
      return;
    }
    if (end - start > opts.maxLineBytes) {
      out.push({ no: lineNo++, text: '', bad: 'too-long' });
      return;
    }
    const slice = bytes.subarray(start, end);
    if (isUtf8(slice)) out.push({ no: lineNo++, text: decoder.decode(slice) });
    else out.push({ no: lineNo++, text: decoder.decode(slice), bad: 'utf8' });
  };

  /** Emits every complete line of `bytes` and keeps the unfinished tail in `carry`. */
  const split = (bytes: Buffer, final: boolean): Line[] => {
    const out: Line[] = [];
    const lastLf = bytes.lastIndexOf(LF);
    if (lastLf !== -1) {
      const complete = bytes.subarray(0, lastLf);
      if (!dropping && isUtf8(complete)) {
        // The common case: decode the whole region at once, then split the text.
        const texts = decoder.decode(complete).split('\n');
        for (const text of texts) {
          // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only for lines that could be too long.
          if (text.length * 3 > opts.maxLineBytes && Buffer.byteLength(text) > opts.maxLineBytes) {
            out.push({ no: lineNo++, text: '', bad: 'too-long' });
          } else out.push({ no: lineNo++, text });
        }
      } else {
        let start = 0;
        for (let lf = bytes.indexOf(LF, 0); lf !== -1 && lf <= lastLf; lf = bytes.indexOf(LF, start)) {
          emit(out, bytes, start, lf);
          start = lf + 1;
        }
      }
    }
    const tail = bytes.subarray(lastLf + 1);
    if (final) {
      if (tail.length > 0 || dropping) emit(out, tail, 0, tail.length);
      carry = Buffer.alloc(0);
    } else if (dropping || tail.length > opts.maxLineBytes) {
      dropping = true;
      carry = Buffer.alloc(0);
    } else {
      // Copy: the tail must not pin the whole chunk it came from.
      carry = Buffer.from(tail);
    }
    return out;
  };

  /** The file's first bytes, held until there are enough to tell whether they are a BOM. */
  let head = Buffer.alloc(0);
  for await (const raw of source) {
    opts.onBytes?.(raw.length);
    let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (first) {
      head = Buffer.concat([head, chunk]);
      if (head.length < BOM.length && head.every((b, i) => b === BOM[i])) continue;
      first = false;
      chunk = BOM.every((b, i) => head[i] === b) ? head.subarray(BOM.length) : head;
    }
    if (pendingCr) chunk = Buffer.concat([Buffer.from([CR]), chunk]);
    const normalised = normaliseLineEnds(chunk, false);
    pendingCr = normalised.pendingCr;
    const bytes = carry.length === 0 ? normalised.bytes : Buffer.concat([carry, normalised.bytes]);
    const lines = split(bytes, false);
    if (lines.length > 0) yield lines;
  }
  if (first) carry = normaliseLineEnds(head, true).bytes; // a file of one or two bytes
  const tail = pendingCr ? Buffer.concat([carry, Buffer.from([LF])]) : carry;
  const lines = split(tail, true);
  if (lines.length > 0) yield lines;
}

/**
 * CRLF → LF and lone CR → LF. A CR at the very end may be the first half of a CRLF split across
 * chunks: unless `final`, it is held back (`pendingCr`) for the next chunk.
 */
function normaliseLineEnds(bytes: Buffer, final: boolean): { bytes: Buffer; pendingCr: boolean } {
  if (bytes.indexOf(CR) === -1) return { bytes, pendingCr: false };
  let end = bytes.length;
  let pendingCr = false;
  if (!final && bytes[end - 1] === CR) {
    end -= 1;
    pendingCr = true;
  }
  const out = Buffer.allocUnsafe(end);
  let o = 0;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b === CR) {
      out[o++] = LF;
      if (bytes[i + 1] === LF && i + 1 < end) i++;
    } else out[o++] = b;
  }
  return { bytes: out.subarray(0, o), pendingCr };
}
