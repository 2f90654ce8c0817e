import type { Model } from '../model.js';
import type { Signature } from '../tensor.js';

/** What a kind gets when it opens or inspects an artifact. */
export interface KindContext {
  /**
   * A directory the kind may write to, keyed by content where it does (a custom model's files are
   * unpacked under `<cacheDir>/custom/<sha256>`); created on demand.
   */
  readonly cacheDir: string;
  /** Longest a single call into user code or a remote server may take (ms). */
  readonly callTimeoutMs: number;
}

export interface OpenContext extends KindContext {
  /** The signature stored with the version; kinds that can read their own may check it against it. */
  readonly signature?: Signature | undefined;
  /** The artifact's sha256 (hex), already verified by the registry. */
  readonly sha256: string;
}

export interface Inspected {
  /** The signature to store with the version: the override when one was given, else read from the artifact. */
  readonly signature: Signature;
  /** Facts for `ferry models show` (graph opset, producer, remote URL...), stored as the version's params. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * One model kind: how its artifact is checked at registration and opened for serving. Kinds are a
 * closed list (kinds/index.ts), as the artifact decoders were: an artifact names a kind, and only
 * known kinds open.
 */
export interface ModelKind {
  /** The name stored with each version. */
  readonly kind: string;
  /** Other names accepted on the command line and in the library (e.g. `text-classifier`). */
  readonly aliases?: readonly string[];
  /**
   * At registration: checks that the artifact opens and returns the signature to store. Leaves
   * nothing behind when it throws (MODEL_LOAD_FAILED, MODEL_INVALID_SIGNATURE, ...).
   */
  inspect(artifact: Uint8Array, ctx: KindContext, override?: Signature): Promise<Inspected>;
  open(artifact: Uint8Array, ctx: OpenContext): Promise<Model>;
  /**
   * Before an alias moves to a version: a cheap check that the artifact still opens (no network).
   * When absent, the version is opened and closed.
   */
  verify?(artifact: Uint8Array, ctx: KindContext): Promise<void>;
}
