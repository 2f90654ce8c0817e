import { sha256Hex } from '../core/hash.js';
import type { FeatureRepoDef } from './feature-definitions.js';

/**
 * A repository as the objects `apply` stores and compares one by one: each entity, source, view,
 * service and pipeline as canonical JSON (keys sorted; a TypeScript `map` function as its source
 * text, so that editing the function changes the view) and the sha256 of that JSON.
 */
export const OBJECT_KINDS = ['entity', 'source', 'view', 'service', 'pipeline'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export interface RepoObject {
  readonly kind: ObjectKind;
  readonly name: string;
  /** Canonical JSON of the definition (functions as `{"$function": source}`). */
  readonly definition: JsonObject;
  readonly hash: string;
}

/** The key of a function's source text in canonical JSON. */
const FUNCTION_KEY = '$function';

/** Sorted keys, functions as their source, undefined members dropped: equal definitions, equal JSON. */
function canonical(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'function') return { [FUNCTION_KEY]: value.toString() };
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonical(v)));
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return String(value);
}

export function objectOf(kind: ObjectKind, definition: unknown): RepoObject {
  const json = canonical(definition) as JsonObject;
  return { kind, name: String(json.name), definition: json, hash: sha256Hex(JSON.stringify(json)) };
}

/** Every object of a validated repository, in kind order then declaration order. */
export function repoObjects(repo: FeatureRepoDef): RepoObject[] {
  return [
    ...repo.entities.map((d) => objectOf('entity', d)),
    ...repo.sources.map((d) => objectOf('source', d)),
    ...repo.views.map((d) => objectOf('view', d)),
    ...(repo.services ?? []).map((d) => objectOf('service', d)),
    ...(repo.pipelines ?? []).map((d) => objectOf('pipeline', d)),
  ];
}

export function objectKey(o: { kind: ObjectKind; name: string }): string {
  return `${o.kind}:${o.name}`;
}

/** One hash for a set of objects (their kinds, names and hashes), order-independent. */
export function objectsHash(objects: readonly RepoObject[]): string {
  return sha256Hex(
    objects
      .map((o) => `${objectKey(o)}=${o.hash}`)
      .sort()
      .join('\n'),
  );
}
