import { ErrorCode, FerryError } from '../core/errors.js';
import { checkSignature, type Signature } from '../model/tensor.js';
import type { AliasEvent, ModelVersion } from './types.js';

export interface VersionRow {
  [column: string]: unknown;
  name: string;
  version: unknown;
  kind: string;
  artifact_sha256: string;
  artifact_size: unknown;
  params: string;
  metrics: string;
  dataset: string;
  tags: string;
  git_commit: string | null;
  created_at: string;
  signature?: string | null;
}

export interface AliasRow {
  [column: string]: unknown;
  name: string;
  alias: string;
  version: unknown;
}

export interface EventRow {
  [column: string]: unknown;
  id: string;
  name: string;
  alias: string;
  from_version: unknown;
  to_version: unknown;
  at: string;
  reason: string | null;
}

export const VERSION_COLUMNS =
  'name, version, kind, artifact_sha256, artifact_size, params, metrics, dataset, tags, git_commit, created_at, signature';

/**
 * Integers as numbers whatever the driver returns: pg hands BIGINT back as a string unless told
 * otherwise, SQLite as a number, and either may come through an aggregate as bigint.
 */
export function toInt(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new FerryError(ErrorCode.DB_ERROR, `expected an integer from the database, got ${String(value)}`);
  }
  return n;
}

export function toIntOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : toInt(value);
}

export function toModelVersion(row: VersionRow, location: string, aliases: string[]): ModelVersion {
  return {
    name: row.name,
    version: toInt(row.version),
    kind: row.kind,
    artifactSha256: row.artifact_sha256,
    artifactSize: toInt(row.artifact_size),
    artifactLocation: location,
    params: parseJson(row.params),
    metrics: parseJson(row.metrics),
    dataset: parseJson(row.dataset),
    tags: parseJson(row.tags) as Record<string, string>,
    gitCommit: row.git_commit ?? null,
    createdAt: row.created_at,
    signature: parseSignature(row.signature),
    aliases: [...aliases].sort(),
  };
}

export function toAliasEvent(row: EventRow): AliasEvent {
  return {
    id: row.id,
    name: row.name,
    alias: row.alias,
    fromVersion: toIntOrNull(row.from_version),
    toVersion: toIntOrNull(row.to_version),
    at: row.at,
    reason: row.reason ?? null,
  };
}

function parseJson(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

/** Code-unit order, the same on both engines (PostgreSQL's ORDER BY follows the locale). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The stored signature, checked again on the way out (a hand-edited row must not reach serving unchecked). */
function parseSignature(text: string | null | undefined): Signature | null {
  if (text === null || text === undefined) return null;
  return checkSignature(parseJson(text));
}
