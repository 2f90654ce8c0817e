import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, FerryError } from '../../../core/errors.js';

export interface FileIdentity {
  /** Absolute path. */
  path: string;
  size: number;
  /** sha256 (hex) of the file's bytes. */
  sha256: string;
}

/** A missing file, a directory or an unreadable file, as a FerryError naming the path (status 400). */
function fileError(path: string, e: unknown): FerryError {
  if (e instanceof FerryError) return e;
  const code = (e as { code?: string } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new FerryError(ErrorCode.BATCH_INPUT_NOT_FOUND, `input file ${path} does not exist`, {
      details: { path },
      cause: e,
    });
  }
  const why = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.BATCH_INPUT_UNREADABLE, `cannot read input file ${path}: ${why}`, {
    details: { path, code: code ?? null },
    cause: e,
  });
}

/**
 * Checks that `path` is a readable regular file and hashes its bytes as a stream (memory stays
 * bounded). The hash identifies the input: the same file gives the same job id, so a rerun resumes.
 */
export async function identifyFile(path: string): Promise<FileIdentity> {
  const full = resolve(path);
  let size: number;
  try {
    const st = await stat(full);
    if (!st.isFile()) {
      throw new FerryError(ErrorCode.BATCH_INPUT_UNREADABLE, `input ${full} is not a regular file`, {
        details: { path: full },
      });
    }
    size = st.size;
  } catch (e) {
    throw fileError(full, e);
  }
  const hash = createHash('sha256');
  try {
    for await (const chunk of openFile(full)) hash.update(chunk as Buffer);
  } catch (e) {
    throw fileError(full, e);
  }
  return { path: full, size, sha256: hash.digest('hex') };
}

export function openFile(path: string): ReadStream {
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

/** Wraps a file stream so that read errors become FerryErrors naming the file. */
export async function* fileChunks(stream: ReadStream, path: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    throw fileError(path, e);
  } finally {
    stream.destroy();
  }
}
