import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';

/** The course's public dataset, used when DATASET_LOC is not set (cached after the first download). */
export const COURSE_DATASET_URL =
  'https://raw.githubusercontent.com/GokuMohandas/Made-With-ML/main/datasets/dataset.csv';

export interface FetchedBytes {
  bytes: Uint8Array;
  /** A path or URL, for messages and lineage. */
  source: string;
  fromCache: boolean;
}

function isUrl(loc: string): boolean {
  return /^https?:\/\//i.test(loc);
}

/** Reads a dataset from a path or an http(s) URL; URLs are cached under `cacheDir`. */
export async function readDatasetLocation(
  loc: string,
  opts: { cacheDir: string; timeoutMs?: number; fetchImpl?: typeof fetch },
): Promise<FetchedBytes> {
  if (!isUrl(loc)) {
    const path = resolve(loc);
    try {
      return { bytes: await readFile(path), source: loc, fromCache: false };
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new FerryError(
        ErrorCode.DATA_NOT_FOUND,
        `cannot read dataset ${loc}: ${code === 'ENOENT' ? 'no such file' : (code ?? cause)}`,
        {
          details: { location: loc },
          cause,
        },
      );
    }
  }
  const cached = join(opts.cacheDir, 'datasets', `${sha256Hex(loc).slice(0, 32)}.csv`);
  try {
    return { bytes: await readFile(cached), source: loc, fromCache: true };
  } catch {
    // Not cached yet: download below.
  }
  let bytes: Uint8Array;
  try {
    const res = await (opts.fetchImpl ?? fetch)(loc, {
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (cause) {
    const why =
      cause instanceof Error
        ? cause.cause instanceof Error
          ? cause.cause.message
          : cause.message
        : String(cause);
    throw new FerryError(ErrorCode.DATA_UNREACHABLE, `cannot download dataset ${loc}: ${why}`, {
      details: { location: loc },
      cause,
    });
  }
  await mkdir(dirname(cached), { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, cached);
  return { bytes, source: loc, fromCache: false };
}
