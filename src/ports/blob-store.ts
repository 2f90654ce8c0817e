/** Content-addressed storage for artifacts: a blob is written once and named by its sha256. */
export interface BlobStore {
  /** Stores the bytes atomically and returns their sha256 (hex). Writing the same bytes twice is a no-op. */
  put(bytes: Uint8Array): Promise<string>;
  /** Returns the bytes, or undefined when no blob has that digest. Does not verify; callers do. */
  get(sha256: string): Promise<Uint8Array | undefined>;
  has(sha256: string): Promise<boolean>;
  /** Where the blob lives, for humans (a path or URL). */
  locate(sha256: string): string;
}
