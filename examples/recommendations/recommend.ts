/**
 * The recommendations of one user, from three sources tried in order:
 *
 * 1. `fresh`: the user's activity of the last hour and day (the `recs` feature service's window
 *    views, written by the `user_activity` stream pipeline) gives a tag affinity, and the stored
 *    predictions of the tag classifier are ranked by it (rank.ts). Padded with the generic list
 *    (score 0) when fewer candidates than `limit` match the user's tags.
 * 2. `nightly`: no fresh activity (nothing stored, or older than the views' TTL), but last
 *    night's batch list (`user_nightly`, materialized from a file) is fresh: served in its order.
 * 3. `generic`: neither: the most probable projects of each tag, taken round-robin over the tags
 *    (computed from the candidates, so it needs nothing per user).
 *
 * The online store being down is not an outage of recommendations: the generic list is served and
 * `onDegraded` told (the server logs it).
 */
import { ErrorCode, isFerryError } from '../../src/core/errors.js';
import type { OnlineReadRequest, OnlineReadResponse } from '../../src/features/online-read.js';
import type { StoredPrediction, StoredPredictionStore } from '../../src/ports/prediction-store.js';
import { type Candidate, rankProjects, tagAffinity } from './rank.js';

export type RecommendationSource = 'fresh' | 'nightly' | 'generic';

export interface RecommendedItem {
  readonly project_id: string;
  readonly score: number;
  /** The tag the project was picked for; null when unknown (a nightly project the store has no prediction of). */
  readonly because: string | null;
}

export interface Recommendation {
  readonly user: string;
  readonly source: RecommendationSource;
  readonly items: readonly RecommendedItem[];
  /** The newest event time of the features used (ISO 8601); null for the generic list. */
  readonly features_event_time: string | null;
}

/** Features of the `recs` service in features.json that this reads (view:feature). */
export const FEATURES = {
  hour: 'user_activity_1h:views_per_tag_1h',
  day: 'user_activity_24h:views_per_tag_24h',
  nightly: 'user_nightly:projects',
} as const;
const JOIN_KEY = 'user_id';

/** The candidates: projects with tag probabilities, and the generic list derived from them. */
export interface CandidateSet {
  readonly candidates: readonly Candidate[];
  readonly byId: ReadonlyMap<string, Candidate>;
  /** Best first: the most probable project of each tag in turn, then the second of each, … */
  readonly generic: readonly RecommendedItem[];
  readonly loadedAtMs: number;
}

export interface CandidateCacheOptions {
  readonly store: Pick<StoredPredictionStore, 'list'>;
  /** The model whose stored predictions are the candidates. Default `tagifai`. */
  readonly model?: string;
  /** How long a loaded set is served before it is read again. Default 5000 ms. */
  readonly ttlMs?: number;
  /** Rows per page of `list`. Default 1000. */
  readonly pageSize?: number;
  /** At most this many candidates are kept (memory bound). Default 50,000. */
  readonly maxCandidates?: number;
  /** Told when a reload failed and the previous set is served. */
  readonly onStale?: (error: unknown) => void;
  readonly now?: () => number;
}

/**
 * The stored predictions of the model as candidates, read a page at a time and kept in memory for
 * `ttlMs`. One reload at a time (concurrent requests share it); a failed reload serves the
 * previous set when there is one, so a database hiccup does not empty everyone's list.
 */
export class CandidateCache {
  private current: CandidateSet | undefined;
  private loading: Promise<CandidateSet> | undefined;

  constructor(private readonly opts: CandidateCacheOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async get(): Promise<CandidateSet> {
    const cur = this.current;
    if (cur !== undefined && this.now() - cur.loadedAtMs < (this.opts.ttlMs ?? 5000)) return cur;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    try {
      return await this.loading;
    } catch (e) {
      if (this.current === undefined) throw e;
      this.opts.onStale?.(e);
      return this.current;
    }
  }

  private async load(): Promise<CandidateSet> {
    const model = this.opts.model ?? 'tagifai';
    const pageSize = this.opts.pageSize ?? 1000;
    const max = this.opts.maxCandidates ?? 50_000;
    const candidates: Candidate[] = [];
    let after: string | undefined;
    while (candidates.length < max) {
      const page = await this.opts.store.list(model, {
        limit: pageSize,
        ...(after === undefined ? {} : { after }),
      });
      for (const row of page) {
        const c = toCandidate(row);
        if (c !== undefined) candidates.push(c);
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.entityId;
    }
    candidates.length = Math.min(candidates.length, max);
    const set: CandidateSet = {
      candidates,
      byId: new Map(candidates.map((c) => [c.projectId, c])),
      generic: genericList(candidates),
      loadedAtMs: this.now(),
    };
    this.current = set;
    return set;
  }
}

/** A stored text-classifier prediction as a candidate; other models' rows carry no class names. */
function toCandidate(row: StoredPrediction): Candidate | undefined {
  if (row.probabilities === undefined) return undefined;
  return { projectId: row.entityId, probabilities: row.probabilities };
}

/** The tag a candidate is most probably about, and its probability (ties: the smaller tag). */
function topTag(c: Candidate): { tag: string; p: number } | undefined {
  let best: { tag: string; p: number } | undefined;
  for (const [tag, p] of Object.entries(c.probabilities)) {
    if (!Number.isFinite(p)) continue;
    if (best === undefined || p > best.p || (p === best.p && tag < best.tag)) best = { tag, p };
  }
  return best;
}

/**
 * Each candidate filed under its most probable tag, each tag's projects by probability (ties by
 * id), then dealt round-robin over the tags in name order: a new user sees every tag near the top.
 */
export function genericList(candidates: readonly Candidate[]): RecommendedItem[] {
  const byTag = new Map<string, RecommendedItem[]>();
  for (const c of candidates) {
    const top = topTag(c);
    if (top === undefined) continue;
    const list = byTag.get(top.tag) ?? [];
    list.push({ project_id: c.projectId, score: top.p, because: top.tag });
    byTag.set(top.tag, list);
  }
  const lists = [...byTag.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, items]) => items.sort((x, y) => y.score - x.score || (x.project_id < y.project_id ? -1 : 1)));
  const out: RecommendedItem[] = [];
  for (let i = 0; out.length < candidates.length; i++) {
    let any = false;
    for (const list of lists) {
      const item = list[i];
      if (item !== undefined) {
        out.push(item);
        any = true;
      }
    }
    if (!any) break;
  }
  return out;
}

export interface RecommenderOptions {
  /** Online reads: `FeatureAccess` over the applied definitions. */
  readonly features: { read(req: OnlineReadRequest): Promise<OnlineReadResponse> };
  readonly candidates: Pick<CandidateCache, 'get'>;
  /** Told when the online store could not be read and the generic list was served. */
  readonly onDegraded?: (user: string, error: unknown) => void;
}

type FeatureResult = OnlineReadResponse['results'][number]['features'][string];

function present(r: FeatureResult | undefined): r is FeatureResult & { eventTime: string } {
  return r !== undefined && r.status === 'PRESENT' && r.eventTime !== null;
}

function asCounts(value: unknown): Record<string, number> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, number>)
    : undefined;
}

export class Recommender {
  constructor(private readonly opts: RecommenderOptions) {}

  /** `user` and `limit` are checked by the caller (server.ts checks them at the edge). */
  async recommend(user: string, limit: number): Promise<Recommendation> {
    const set = await this.opts.candidates.get();
    let features: OnlineReadResponse['results'][number]['features'];
    try {
      const response = await this.opts.features.read({
        features: [FEATURES.hour, FEATURES.day, FEATURES.nightly],
        entities: { [JOIN_KEY]: [user] },
      });
      features = response.results[0]!.features;
    } catch (e) {
      if (!isFerryError(e, ErrorCode.FEATURES_UNAVAILABLE)) throw e;
      this.opts.onDegraded?.(user, e);
      return { user, source: 'generic', items: set.generic.slice(0, limit), features_event_time: null };
    }

    const hour = features[FEATURES.hour];
    const day = features[FEATURES.day];
    const affinity = tagAffinity({
      lastHour: present(hour) ? asCounts(hour.value) : undefined,
      lastDay: present(day) ? asCounts(day.value) : undefined,
    });
    if (Object.keys(affinity).length > 0) {
      const ranked = rankProjects(affinity, set.candidates, limit);
      const items: RecommendedItem[] = ranked.map((r) => ({
        project_id: r.projectId,
        score: r.score,
        because: r.because,
      }));
      pad(items, set.generic, limit);
      const times = [hour, day].filter(present).map((r) => r.eventTime);
      return { user, source: 'fresh', items, features_event_time: times.sort().at(-1) ?? null };
    }

    const nightly = features[FEATURES.nightly];
    const list = present(nightly) && Array.isArray(nightly.value) ? nightly.value : [];
    const ids = [...new Set(list.filter((v): v is string => typeof v === 'string' && v !== ''))];
    if (present(nightly) && ids.length > 0) {
      // No scores in a nightly list: its order is the ranking, scored 1, (n-1)/n, … down to 1/n.
      const items = ids.slice(0, limit).map((id, i) => {
        const c = set.byId.get(id);
        return {
          project_id: id,
          score: (ids.length - i) / ids.length,
          because: c ? (topTag(c)?.tag ?? null) : null,
        };
      });
      return { user, source: 'nightly', items, features_event_time: nightly.eventTime };
    }

    return { user, source: 'generic', items: set.generic.slice(0, limit), features_event_time: null };
  }
}

/**
 * Fills `items` up to `limit` from the generic list, skipping projects already in. A filler scores
 * 0 (the user's activity gave it nothing), so scores still decrease down the list; `because` keeps
 * the tag it was picked for in the generic list.
 */
function pad(items: RecommendedItem[], generic: readonly RecommendedItem[], limit: number): void {
  if (items.length >= limit) return;
  const seen = new Set(items.map((i) => i.project_id));
  for (const g of generic) {
    if (items.length >= limit) return;
    if (!seen.has(g.project_id)) items.push({ ...g, score: 0 });
  }
}
