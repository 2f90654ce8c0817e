import type { Signature } from '../model/tensor.js';

export interface ModelVersion {
  name: string;
  version: number;
  kind: string;
  artifactSha256: string;
  artifactSize: number;
  /** Where the blob store keeps the artifact (a path or URL), for humans. */
  artifactLocation: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  dataset: Record<string, unknown>;
  tags: Record<string, string>;
  gitCommit: string | null;
  /** ISO 8601. */
  createdAt: string;
  /** The tensors the version takes and gives (OIP v2); null for versions registered before signatures were stored. */
  signature: Signature | null;
  /** The aliases that point at this version now, sorted. */
  aliases: string[];
}

export interface RegisterMeta {
  kind: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  dataset: Record<string, unknown>;
  tags?: Record<string, string>;
  gitCommit?: string | null;
  /** The signature to store (checked with checkSignature). */
  signature?: Signature | null;
}

export interface ModelSummary {
  name: string;
  createdAt: string;
  versionCount: number;
  latestVersion: number | null;
  aliases: Record<string, number>;
}

/** One move of an alias; `toVersion` is null when the alias was deleted, `fromVersion` when it was created. */
export interface AliasEvent {
  id: string;
  name: string;
  alias: string;
  fromVersion: number | null;
  toVersion: number | null;
  at: string;
  reason: string | null;
}

export interface AliasMove {
  name: string;
  alias: string;
  from: number | null;
  to: number;
}

/** A page of a model's versions (ModelRegistry.listVersions). */
export interface VersionPage {
  limit: number;
  offset: number;
  /** Version descending; otherwise ascending. */
  newestFirst: boolean;
}
