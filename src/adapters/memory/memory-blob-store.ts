import { sha256Hex } from '../../core/hash.js';
import type { BlobRead, BlobStore } from '../../ports/blob-store.js';

/** Blobs in a Map, for tests and throw-away runs. Copies in and out so callers cannot alter stored bytes. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Uint8Array>();

  async put(bytes: Uint8Array): Promise<string> {
    const digest = sha256Hex(bytes);
    this.blobs.set(digest, bytes.slice());
    return digest;
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    return this.blobs.get(sha256)?.slice();
  }

  async read(sha256: string, expectedSize: number): Promise<BlobRead> {
    const bytes = this.blobs.get(sha256);
    if (bytes === undefined) return { status: 'missing' };
    if (bytes.byteLength !== expectedSize) return { status: 'size-mismatch', actualSize: bytes.byteLength };
    return { status: 'ok', bytes: bytes.slice(), sha256: sha256Hex(bytes) };
  }

  async has(sha256: string): Promise<boolean> {
    return this.blobs.has(sha256);
  }

  locate(sha256: string): string {
    return `memory:sha256/${sha256}`;
  }

  /** Stores bytes under a digest without checking them: lets tests simulate a corrupted store. */
  overwriteUnchecked(sha256: string, bytes: Uint8Array): void {
    this.blobs.set(sha256, bytes.slice());
  }

  delete(sha256: string): boolean {
    return this.blobs.delete(sha256);
  }
}
