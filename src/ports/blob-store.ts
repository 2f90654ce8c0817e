/**
 * What reading a blob found: the bytes with the sha256 computed while reading them, no blob, or a
 * blob whose size is not the expected one (found without reading it).
 */
export type BlobRead =
  | { status: 'ok'; bytes: Uint8Array; sha256: string }
  | { status: 'missing' }
  | { status: 'size-mismatch'; actualSize: number };

/** Content-addressed storage for artifacts: a blob is written once and named by its sha256. */
export interface BlobStore {
  /** Stores the bytes atomically and returns their sha256 (hex). Writing the same bytes twice is a no-op. */
  put(bytes: Uint8Array): Promise<string>;
  /** Returns the bytes, or undefined when no blob has that digest. Does not verify; callers do. */
  get(sha256: string): Promise<Uint8Array | undefined>;
  /**
   * Reads a blob recorded as `expectedSize` bytes. The size is compared before any byte is read (a
   * replaced multi-GB file costs a stat, not its reading), and the sha256 is computed while reading.
   * Anything that is not a regular file (a directory, say) is `missing`. The caller compares the
   * digest with the one it expects.
   */
  read(sha256: string, expectedSize: number): Promise<BlobRead>;
  has(sha256: string): Promise<boolean>;
  /** Where the blob lives, for humans (a path or URL). */
  locate(sha256: string): string;
}
