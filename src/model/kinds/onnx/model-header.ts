/**
 * The few top-level fields of an ONNX ModelProto worth showing in `ferry models show` (IR version,
 * producer, operator sets), read straight from the protobuf bytes: onnxruntime-node does not
 * expose them. The graph (field 7), nearly all of the file, is skipped by its length, never parsed.
 * Best effort: anything unexpected ends the walk with what was read so far.
 */
export interface ModelHeader {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  modelVersion?: number;
  /** Operator-set versions by domain ("" is the default ONNX domain, shown as "ai.onnx"). */
  opsets: Record<string, number>;
  /** The model's metadata_props (at most MAX_METADATA entries, texts cut at MAX_TEXT). */
  metadata: Record<string, string>;
}

const MAX_METADATA = 64;

const MAX_TEXT = 200;

class Reader {
  pos: number;
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as a number (exact up to 2^53, plenty for versions); undefined when malformed. */
  varint(): number | undefined {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10 && this.pos < this.end; i++) {
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return undefined;
  }

  /** The bounds of a length-delimited field, the reader moved past it. */
  span(): [number, number] | undefined {
    const len = this.varint();
    if (len === undefined || this.pos + len > this.end) return undefined;
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  text([start, end]: [number, number]): string {
    return new TextDecoder()
      .decode(this.bytes.subarray(start, Math.min(end, start + MAX_TEXT * 4)))
      .slice(0, MAX_TEXT);
  }

  /** Skips a field of the given wire type; false when it cannot. */
  skip(wire: number): boolean {
    if (wire === 0) return this.varint() !== undefined;
    if (wire === 1) this.pos += 8;
    else if (wire === 2) return this.span() !== undefined;
    else if (wire === 5) this.pos += 4;
    else return false;
    return this.pos <= this.end;
  }
}

function readOpset(bytes: Uint8Array, [start, end]: [number, number], into: Record<string, number>): void {
  const r = new Reader(bytes, start, end);
  let domain = '';
  let version: number | undefined;
  while (r.pos < r.end) {
    const key = r.varint();
    if (key === undefined) return;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1 && wire === 2) {
      const s = r.span();
      if (!s) return;
      domain = r.text(s);
    } else if (field === 2 && wire === 0) {
      version = r.varint();
    } else if (!r.skip(wire)) return;
  }
  if (version !== undefined) into[domain === '' ? 'ai.onnx' : domain] = version;
}

/** One StringStringEntryProto (key = 1, value = 2) of metadata_props. */
function readMetadataEntry(
  bytes: Uint8Array,
  [start, end]: [number, number],
  into: Record<string, string>,
): void {
  const r = new Reader(bytes, start, end);
  let key: string | undefined;
  let value = '';
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === undefined) return;
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === 2 && (field === 1 || field === 2)) {
      const s = r.span();
      if (!s) return;
      if (field === 1) key = r.text(s);
      else value = r.text(s);
    } else if (!r.skip(wire)) return;
  }
  if (key !== undefined && Object.keys(into).length < MAX_METADATA) into[key] = value;
}

export function readModelHeader(bytes: Uint8Array): ModelHeader {
  const header: ModelHeader = { opsets: {}, metadata: Object.create(null) as Record<string, string> };
  const r = new Reader(bytes, 0, bytes.length);
  while (r.pos < r.end) {
    const key = r.varint();
    if (key === undefined) break;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0 && (field === 1 || field === 5)) {
      const v = r.varint();
      if (v === undefined) break;
      if (field === 1) header.irVersion = v;
      else header.modelVersion = v;
    } else if (wire === 2 && (field === 2 || field === 3 || field === 8 || field === 14)) {
      const s = r.span();
      if (!s) break;
      if (field === 2) header.producerName = r.text(s);
      else if (field === 3) header.producerVersion = r.text(s);
      else if (field === 8) readOpset(bytes, s, header.opsets);
      else readMetadataEntry(bytes, s, header.metadata);
    } else if (!r.skip(wire)) break;
  }
  return header;
}
