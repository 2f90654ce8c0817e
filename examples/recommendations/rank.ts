/**
 * Ranks projects for a user: the user's fresh tag affinity (views per tag in the last hour and
 * day, from the stream-processed online features) times each project's stored tag probabilities
 * (from the prediction store, computed ahead by a batch job or by the project-created pipeline).
 *
 * Pure: the server (server.ts) reads the features and candidates and calls `rankProjects`.
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
  /** The tag that contributed most to the score. */
  readonly because: string;
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
  const hasHour = Object.keys(hour).length > 0;
  const hasDay = Object.keys(day).length > 0;
  if (!hasHour && !hasDay) return {};
  const wHour = hasHour && hasDay ? HOUR_WEIGHT : hasHour ? 1 : 0;
  const out: Record<string, number> = {};
  for (const tag of new Set([...Object.keys(hour), ...Object.keys(day)])) {
    out[tag] = wHour * (hour[tag] ?? 0) + (1 - wHour) * (day[tag] ?? 0);
  }
  return out;
}

function shares(counts: TagCounts | undefined): Record<string, number> {
  if (counts === undefined) return {};
  const entries = Object.entries(counts).filter(([, n]) => Number.isFinite(n) && n > 0);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  return total > 0 ? Object.fromEntries(entries.map(([tag, n]) => [tag, n / total])) : {};
}

/**
 * The `limit` best candidates by Σ_tag affinity(tag) · p(tag | project), ties by project id (so
 * the order is stable), skipping `exclude` (e.g. projects the user just viewed).
 */
export function rankProjects(
  affinity: Readonly<Record<string, number>>,
  candidates: readonly Candidate[],
  limit: number,
  exclude: ReadonlySet<string> = new Set(),
): Ranked[] {
  const tags = Object.entries(affinity).filter(([, a]) => a > 0);
  const ranked: Ranked[] = [];
  for (const c of candidates) {
    if (exclude.has(c.projectId)) continue;
    let score = 0;
    let because = '';
    let best = -1;
    for (const [tag, a] of tags) {
      const part = a * (c.probabilities[tag] ?? 0);
      score += part;
      if (part > best) {
        best = part;
        because = tag;
      }
    }
    ranked.push({ projectId: c.projectId, score, because });
  }
  ranked.sort((x, y) => y.score - x.score || (x.projectId < y.projectId ? -1 : 1));
  return ranked.slice(0, Math.max(0, limit));
}
