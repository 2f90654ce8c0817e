import { SeenIds } from './seen-ids.js';
import type { BatchInput, InputRecord } from './types.js';

export interface InputChunk {
  /** 0-based: chunk i holds input records [i·chunkSize, (i+1)·chunkSize), rejects included. */
  index: number;
  records: InputRecord[];
}

/**
 * Cuts an input into chunks of `chunkSize` records in input order, so that the boundaries are the
 * same on every run over the same input (what makes skipping done chunks safe), and turns every
 * record whose id appeared on an earlier record (kept or rejected) into a reject. That check needs
 * the whole input, which is why it lives here and not in `processChunk`: a resumed run, or the
 * producer of a distributed job, reads every chunk, done or not.
 */
export async function* chunkInput(input: BatchInput, chunkSize: number): AsyncGenerator<InputChunk> {
  const seen = new SeenIds();
  let index = 0;
  let records: InputRecord[] = [];
  for await (const batch of input.records()) {
    for (const record of batch) {
      const id = record.id;
      let out = record;
      if (id !== undefined) {
        const first = seen.add(id, record.line);
        if (first !== undefined)
          out = { line: record.line, id, reason: `duplicate id (first on line ${first})` };
      }
      records.push(out);
      if (records.length === chunkSize) {
        yield { index: index++, records };
        records = [];
      }
    }
  }
  if (records.length > 0) yield { index, records };
}
