import { ErrorCode, FerryError } from '../core/errors.js';
import { checkSignature, type Signature } from '../model/tensor.js';
import type { VersionRow } from './rows.js';
import type { RegisterMeta } from './types.js';

/** Validates registration metadata and turns it into the TEXT columns it is stored in. */
export function encodeMeta(
  meta: RegisterMeta,
): Pick<VersionRow, 'params' | 'metrics' | 'dataset' | 'tags' | 'git_commit'> & { signature: string | null } {
  if (typeof meta?.kind !== 'string' || meta.kind === '') {
    throw invalidMeta('meta.kind must be a non-empty string (the model codec key)');
  }
  const tags = meta.tags ?? {};
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== 'string') throw invalidMeta(`tag ${JSON.stringify(key)} must be a string`);
  }
  if (meta.gitCommit !== undefined && meta.gitCommit !== null && typeof meta.gitCommit !== 'string') {
    throw invalidMeta('meta.gitCommit must be a string or null');
  }
  return {
    params: toJson('params', meta.params),
    metrics: toJson('metrics', meta.metrics),
    dataset: toJson('dataset', meta.dataset),
    tags: toJson('tags', tags),
    git_commit: meta.gitCommit ?? null,
    signature: signatureJson(meta.signature),
  };
}

function toJson(field: string, value: Record<string, unknown>): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidMeta(`meta.${field} must be an object`);
  }
  try {
    return JSON.stringify(value);
  } catch (e) {
    throw invalidMeta(`meta.${field} is not serialisable as JSON: ${(e as Error).message}`, e);
  }
}

function invalidMeta(message: string, cause?: unknown): FerryError {
  return new FerryError(ErrorCode.REGISTRY_INVALID_META, `cannot register: ${message}`, {
    cause,
  });
}

function signatureJson(signature: Signature | null | undefined): string | null {
  if (signature === undefined || signature === null) return null;
  return JSON.stringify(checkSignature(signature));
}
