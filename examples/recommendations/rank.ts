/**
 * Ranks projects for a user: the user's fresh tag affinity (views per tag in the last hour and
 * day, from the stream-processed online features) times each project's stored tag probabilities
 * (from the prediction store, computed ahead by a batch job or by the project-created pipeline).
 *
 * Pure: recommend.ts reads the features and candidates and calls `tagAffinity` and `rankProjects`.
 */

/** Views per tag, as the `count_by` aggregation stores them. */
export type TagCounts = Readonly<Record<string, number>>;

export interface UserActivity {
  /** Views per tag in the last hour (fresh, weighs most). */
  readonly lastHour?: TagCounts | undefined;
  /** Views per tag in the last 24 hours. */
  readonly lastDay?: TagCounts | undefined;
}

export interface Candidate {
  readonly projectId: string;
  /** Tag → probability, summing to 1 (the classifier's output). */
  readonly probabilities: Readonly<Record<string, number>>;
}

export interface Ranked {
  readonly projectId: string;
  readonly score: number;
  /** The tag that contributed most to the score; null when nothing did (score 0). */
  readonly because: string | null;
}

/** Weight of the last hour against the last day when both are known. */
export const HOUR_WEIGHT = 0.7;

/**
 * Tag → affinity in [0, 1], summing to 1 (or {} when the user has no activity): each window's
 * counts normalised to shares, then mixed, so a heavy day does not drown a fresh hour.
 */
export function tagAffinity(activity: UserActivity): Record<string, number> {
  const hour = shares(activity.lastHour);
  const day = shares(activity.lastDay);
  const hasHour = hour.size > 0;
  const hasDay = day.size > 0;
  if (!hasHour && !hasDay) return {};
  const wHour = hasHour && hasDay ? HOUR_WEIGHT : hasHour ? 1 : 0;
  // A Map, then defineProperty: tags are user data, and "__proto__" is a valid tag.
  const out: Record<string, number> = {};
  for (const tag of new Set([...hour.keys(), ...day.keys()])) {
    const a = wHour * (hour.get(tag) ?? 0) + (1 - wHour) * (day.get(tag) ?? 0);
    Object.defineProperty(out, tag, { value: a, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Counts as shares of their total; counts that are not positive finite numbers are ignored. */
function shares(counts: TagCounts | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (counts === undefined || counts === null || typeof counts !== 'object') return out;
  const entries = Object.entries(counts).filter(
    ([, n]) => typeof n === 'number' && Number.isFinite(n) && n > 0,
  );
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total > 0 && Number.isFinite(total)) for (const [tag, n] of entries) out.set(tag, n / total);
  return out;
}

/** Better first: higher score, then smaller project id (a stable, total order). */
function better(x: Ranked, y: Ranked): number {
  if (x.score !== y.score) return y.score - x.score;
  return x.projectId < y.projectId ? -1 : x.projectId > y.projectId ? 1 : 0;
}

/**
 * The `limit` best candidates by Σ_tag affinity(tag) · p(tag | project), ties by project id (so
 * the order is stable), skipping `exclude` (e.g. projects the user just viewed) and candidates
 * that score 0 (nothing the user showed interest in). A probability that is not a finite number
 * in [0, 1] counts as 0. Keeps only the best `limit` while scanning: O(n log limit), so a
 * request over 10,000 candidates does not sort them all.
 */
export function rankProjects(
  affinity: Readonly<Record<string, number>>,
  candidates: readonly Candidate[],
  limit: number,
  exclude: ReadonlySet<string> = new Set(),
): Ranked[] {
  const keep = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
  if (keep === 0) return [];
  const tags = Object.entries(affinity).filter(([, a]) => Number.isFinite(a) && a > 0);
  const best: Ranked[] = [];
  for (const c of candidates) {
    if (exclude.has(c.projectId)) continue;
    let score = 0;
    let because: string | null = null;
    let top = 0;
    for (const [tag, a] of tags) {
      const p = Object.hasOwn(c.probabilities, tag) ? c.probabilities[tag] : undefined;
      if (typeof p !== 'number' || !(p > 0 && p <= 1)) continue;
      const part = a * p;
      score += part;
      if (part > top) {
        top = part;
        because = tag;
      }
    }
    if (score <= 0) continue;
    const r: Ranked = { projectId: c.projectId, score, because };
    if (best.length === keep && better(r, best[keep - 1]!) >= 0) continue;
    // Binary search for r's place among the kept ones, then drop the worst if over `keep`.
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (better(best[mid]!, r) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, r);
    if (best.length > keep) best.pop();
  }
  return best;
}
