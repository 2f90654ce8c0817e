import { durationMs } from '../core/duration.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { entityKeyOf, type FeatureValue, type OnlineFeatureStore } from '../ports/online-feature-store.js';
import { byView, refName, resolveFeatures } from './feature-refs.js';
import type { AppliedRepo } from './feature-repo-store.js';
import { joinKeysOf, keyPart } from './row-transform.js';

/**
 * Online feature reads, the domain behind `ferry features get` and the HTTP route: the features of
 * a service (or a list of `view:feature`) for a batch of entities, each answered with its value,
 * a status and the event time it was computed from:
 *
 * - PRESENT: stored and fresh (now − ttl <= event time);
 * - EXPIRED: stored, but older than the view's TTL (the value is withheld: null);
 * - NOT_FOUND: nothing stored for the entity.
 *
 * The TTL is enforced here, at read time, with the caller's clock; the store keeps rows as written.
 * Entities come as columns, Feast-style: `{ project_id: ['1', '2'] }` asks for two entities.
 */
export const MAX_ENTITIES_PER_REQUEST = 1000;
const MAX_FEATURES_PER_REQUEST = 500;

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'EXPIRED';

export interface OnlineFeatureResult {
  readonly value: FeatureValue;
  readonly status: FeatureStatus;
  /** The event time of the stored values (ISO 8601), null when nothing is stored. */
  readonly eventTime: string | null;
}

export interface OnlineReadRequest {
  readonly service?: string;
  readonly features?: readonly string[];
  /** Join key → one value per entity; every list the same length. */
  readonly entities: Readonly<Record<string, ReadonlyArray<string | number>>>;
}

export interface OnlineEntityResult {
  /** The entity's join key values. */
  readonly entity: Readonly<Record<string, string>>;
  /** `view:feature` → its result. */
  readonly features: Readonly<Record<string, OnlineFeatureResult>>;
}

export interface OnlineReadResponse {
  /** The features answered, `view:feature`, in order. */
  readonly features: readonly string[];
  readonly results: readonly OnlineEntityResult[];
}

function invalid(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.FEATURES_INVALID_REQUEST, message, { details });
}

/** The entity columns checked: known join keys, equal lengths, within the limit, usable values. */
function entityColumns(
  entities: unknown,
  needed: readonly string[],
): { count: number; columns: Record<string, string[]> } {
  if (typeof entities !== 'object' || entities === null || Array.isArray(entities)) {
    throw invalid('entities must be an object of join key → list of values, e.g. {"project_id": ["1", "2"]}');
  }
  const given = Object.keys(entities);
  const missing = needed.filter((k) => !given.includes(k));
  if (missing.length > 0) {
    throw invalid(
      `the entities have no ${missing.map((m) => `"${m}"`).join(', ')}: the features need the join keys ${needed.join(', ')}`,
      {
        missing,
        joinKeys: needed,
      },
    );
  }
  const extra = given.filter((k) => !needed.includes(k));
  if (extra.length > 0) {
    throw invalid(
      `unknown join key${extra.length > 1 ? 's' : ''} ${extra.map((m) => `"${m}"`).join(', ')}: the features need ${needed.join(', ')}`,
      {
        unknown: extra,
        joinKeys: needed,
      },
    );
  }
  let count: number | undefined;
  const columns: Record<string, string[]> = {};
  for (const key of needed) {
    const list = (entities as Record<string, unknown>)[key];
    if (!Array.isArray(list)) throw invalid(`entities.${key} must be a list of values`, { field: key });
    if (list.length > MAX_ENTITIES_PER_REQUEST) {
      throw invalid(`at most ${MAX_ENTITIES_PER_REQUEST} entities per request, got ${list.length}`, {
        field: key,
        max: MAX_ENTITIES_PER_REQUEST,
      });
    }
    if (count !== undefined && list.length !== count) {
      throw invalid(
        `every join key needs one value per entity: ${needed[0]} has ${count}, ${key} has ${list.length}`,
        { field: key },
      );
    }
    count = list.length;
    columns[key] = list.map((v: unknown, i) => {
      const part = keyPart(v, key);
      if (typeof part !== 'string')
        throw invalid(`entities.${key}[${i}]: ${part.reason}`, { field: key, index: i });
      return part;
    });
  }
  if (count === undefined || count === 0) throw invalid('no entities: give at least one value per join key');
  return { count, columns };
}

export async function readOnlineFeatures(
  applied: AppliedRepo,
  store: OnlineFeatureStore,
  req: OnlineReadRequest,
  nowMs: number,
): Promise<OnlineReadResponse> {
  const { repo } = applied;
  if (req.service !== undefined && req.features !== undefined)
    throw invalid('give a feature service or features, not both');
  const refs = resolveFeatures(repo, req);
  if (refs.length > MAX_FEATURES_PER_REQUEST) {
    throw invalid(`at most ${MAX_FEATURES_PER_REQUEST} features per request, got ${refs.length}`, {
      max: MAX_FEATURES_PER_REQUEST,
    });
  }
  const groups = byView(repo, refs);
  const offline = groups.filter((g) => g.view.online === false).map((g) => g.view.name);
  if (offline.length > 0) {
    throw invalid(
      `the view${offline.length > 1 ? 's' : ''} ${offline.join(', ')} ${offline.length > 1 ? 'are' : 'is'} not online (online: false): read ${offline.length > 1 ? 'them' : 'it'} from training sets`,
      {
        views: offline,
      },
    );
  }
  const needed: string[] = [];
  for (const g of groups) for (const k of joinKeysOf(repo, g.view)) if (!needed.includes(k)) needed.push(k);
  const { count, columns } = entityColumns(req.entities, needed);

  const results = Array.from({ length: count }, (_, i) => ({
    entity: Object.fromEntries(needed.map((k) => [k, columns[k]![i]!])) as Record<string, string>,
    features: {} as Record<string, OnlineFeatureResult>,
  }));
  await Promise.all(
    groups.map(async ({ view, refs: viewRefs }) => {
      const keys = joinKeysOf(repo, view);
      const entityKeys = results.map((_, i) => entityKeyOf(keys.map((k) => columns[k]![i]!)));
      const rows = await store.readMany(view.name, entityKeys);
      const oldest = nowMs - durationMs(view.ttl);
      // Per row, not per feature: the names, the event time's text and the TTL test are the same
      // for every feature of a row (100 entities × 50 features is 5000 values a request).
      const names = viewRefs.map(refName);
      rows.forEach((row, i) => {
        const out = results[i]!.features;
        if (row === undefined) {
          for (const name of names) out[name] = { value: null, status: 'NOT_FOUND', eventTime: null };
          return;
        }
        const eventTime = new Date(row.eventTimeMs).toISOString();
        const expired = row.eventTimeMs < oldest;
        for (let f = 0; f < names.length; f++) {
          out[names[f]!] = expired
            ? { value: null, status: 'EXPIRED', eventTime }
            : { value: row.values[viewRefs[f]!.feature] ?? null, status: 'PRESENT', eventTime };
        }
      });
    }),
  );
  const names = refs.map(refName);
  // One view: its features were filled in the order asked for already (byView keeps it).
  if (groups.length === 1) return { features: names, results };
  // Several: each entity's features put back in the order asked for.
  return {
    features: names,
    results: results.map((r) => ({
      entity: r.entity,
      features: Object.fromEntries(names.map((n) => [n, r.features[n]!])),
    })),
  };
}
