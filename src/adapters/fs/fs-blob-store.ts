import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { BlobRead, BlobStore } from '../../ports/blob-store.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/**
 * The largest blob read into memory (2 GiB - 1, Node's limit for one Buffer read). Larger files
 * cannot be a registered artifact; they are refused from their size, never read.
 */
export const MAX_BLOB_BYTES = 2 ** 31 - 1;
/** Read (and hashed) in slices, so that a large artifact neither doubles in memory nor blocks the event loop. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** Blobs as files under `<root>/sha256/<first two hex digits>/<digest>`. */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    const existing = await this.read(digest, bytes.byteLength);
    // A present but damaged file is rewritten, so registering the same bytes again repairs it.
    if (existing.status === 'ok' && existing.sha256 === digest) return digest;
    const target = this.locate(digest);
    const dir = join(target, '..');
    await mkdir(dir, { recursive: true });
    // Temp file in the same directory so the rename is atomic; a unique name per writer lets
    // concurrent writers of the same blob each rename complete, identical content into place.
    const temp = join(dir, `.${digest}.${process.pid}.${randomUUID()}.tmp`);
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    await syncDirectory(dir);
    return digest;
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    return this.withFile(sha256, async (handle, size) => {
      if (size > MAX_BLOB_BYTES) {
        throw new FerryError(
          ErrorCode.REGISTRY_CHECKSUM_MISMATCH,
          `blob ${sha256} is ${size} bytes, more than any artifact can be (${MAX_BLOB_BYTES})`,
          { details: { sha256, actualSize: size } },
        );
      }
      return (await readSlices(handle, size)).bytes;
    });
  }

  async read(sha256: string, expectedSize: number): Promise<BlobRead> {
    const found = await this.withFile(sha256, async (handle, size): Promise<BlobRead> => {
      if (size !== expectedSize || size > MAX_BLOB_BYTES)
        return { status: 'size-mismatch', actualSize: size };
      const { bytes, sha256: digest, complete } = await readSlices(handle, size);
      // The file changed size between the stat and the end of the reading (someone is writing it).
      if (!complete) return { status: 'size-mismatch', actualSize: (await handle.stat()).size };
      return { status: 'ok', bytes, sha256: digest };
    });
    return found ?? { status: 'missing' };
  }

  /** Opens the blob's file and runs `fn` with its size; undefined when there is no such regular file. */
  private async withFile<T>(
    sha256: string,
    fn: (handle: FileHandle, size: number) => Promise<T>,
  ): Promise<T | undefined> {
    if (!SHA256_HEX.test(sha256)) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(this.locate(sha256), 'r');
    } catch (e) {
      if (isNotFound(e) || isDirectory(e)) return undefined;
      throw e;
    }
    try {
      const info = await handle.stat();
      // A directory (or a device, a socket) where a blob should be is no blob.
      if (!info.isFile()) return undefined;
      return await fn(handle, info.size);
    } catch (e) {
      if (isDirectory(e)) return undefined;
      throw e;
    } finally {
      await handle.close();
    }
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    try {
      return (await stat(this.locate(sha256))).isFile();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  locate(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) {
      // Checked because the digest becomes a path: anything else could escape the root.
      throw new FerryError(ErrorCode.INTERNAL, `not a sha256 hex digest: ${JSON.stringify(sha256)}`);
    }
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }
}

/** Makes the rename itself durable; best effort, since not every file system allows it. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Directory fsync is unsupported on some platforms; the data itself is already synced.
  }
}

/**
 * Reads `size` bytes in slices into one buffer, hashing each slice as it arrives. `complete` is
 * false when the file turned out shorter or longer than `size`.
 */
async function readSlices(
  handle: FileHandle,
  size: number,
): Promise<{ bytes: Uint8Array; sha256: string; complete: boolean }> {
  const bytes = new Uint8Array(size);
  const hash = createHash('sha256');
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await handle.read(bytes, offset, Math.min(READ_CHUNK_BYTES, size - offset), offset);
    if (bytesRead === 0) break;
    hash.update(bytes.subarray(offset, offset + bytesRead));
    offset += bytesRead;
  }
  const extra = await handle.read(new Uint8Array(1), 0, 1, size);
  return { bytes, sha256: hash.digest('hex'), complete: offset === size && extra.bytesRead === 0 };
}

function isDirectory(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'EISDIR';
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
