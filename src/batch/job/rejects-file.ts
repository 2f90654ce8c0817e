import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { SqlExecutor } from '../../ports/sql.js';
import { readRejects, type StoredReject } from './job-tables.js';

function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(r: StoredReject): string {
  return `${r.line},${r.id === null ? '' : csvField(r.id)},${csvField(r.reason)}\n`;
}

function jsonLine(r: StoredReject): string {
  return `${JSON.stringify({ line: r.line, id: r.id, reason: r.reason })}\n`;
}

/**
 * Writes a job's rejects (every run's: they are read from `ferry_batch_rejects`) in line order:
 * JSON Lines when the path ends in `.jsonl`/`.ndjson`, else CSV `line,id,reason`. Written to a
 * temporary file and renamed, so the file is either the old one or the complete new one.
 */
export async function writeRejectsFile(
  sql: SqlExecutor,
  jobId: string,
  path: string,
): Promise<{ path: string; count: number }> {
  const full = resolve(path);
  const jsonl = /\.(jsonl|ndjson)$/i.test(full);
  const tmp = `${full}.tmp-${process.pid}`;
  try {
    await mkdir(dirname(full), { recursive: true });
  } catch (e) {
    throw rejectsFileError(full, e);
  }
  const out = createWriteStream(tmp);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  let count = 0;
  try {
    if (!jsonl) await write('line,id,reason\n');
    for await (const page of readRejects(sql, jobId)) {
      let text = '';
      for (const r of page) text += jsonl ? jsonLine(r) : csvLine(r);
      count += page.length;
      await write(text);
    }
    out.end();
    await once(out, 'finish');
    await rename(tmp, full);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true }).catch(() => {});
    throw rejectsFileError(full, e);
  }
  return { path: full, count };
}

/**
 * The CLI validates the path before the job starts (src/cli/output-path.ts); what still fails here
 * (a race, a full disk) names the file instead of surfacing as FERRY_INTERNAL. Database errors
 * while reading the rejects pass through.
 */
function rejectsFileError(path: string, e: unknown): unknown {
  if (e instanceof FerryError || typeof (e as { syscall?: unknown } | null)?.syscall !== 'string') return e;
  const why = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.CLI_OUTPUT_PATH, `cannot write the rejects file ${path}: ${why}`, {
    details: { path, code: (e as { code?: string }).code ?? null },
    cause: e,
  });
}
