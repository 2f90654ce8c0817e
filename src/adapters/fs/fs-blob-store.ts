import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { BlobStore } from '../../ports/blob-store.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Blobs as files under `<root>/sha256/<first two hex digits>/<digest>`. */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    const existing = await this.get(digest);
    // A present but damaged file is rewritten, so registering the same bytes again repairs it.
    if (existing !== undefined && sha256Hex(existing) === digest) return digest;
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
    if (!SHA256_HEX.test(sha256)) return undefined;
    try {
      const buffer = await readFile(this.locate(sha256));
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
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

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
