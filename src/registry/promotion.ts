import type { ModelVersion } from './types.js';

export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

/**
 * `--promote` moves an alias only when the candidate is at least as good as what the alias points
 * at now, on one validation metric (higher is better); `force` overrides.
 */
export function decidePromotion(
  candidate: ModelVersion,
  current: ModelVersion | null,
  opts: { metric: string; force: boolean; alias: string },
): PromotionDecision {
  const ref = `${candidate.name}/${candidate.version}`;
  if (opts.force) return { promote: true, reason: `forced: ${ref} becomes ${opts.alias}` };
  if (!current)
    return { promote: true, reason: `no ${opts.alias} version yet: ${ref} becomes ${opts.alias}` };
  const mine = candidate.metrics[opts.metric];
  const theirs = current.metrics[opts.metric];
  if (typeof mine !== 'number')
    return { promote: false, reason: `${ref} has no numeric "${opts.metric}" metric to compare` };
  if (typeof theirs !== 'number') {
    return {
      promote: true,
      reason: `${current.name}/${current.version} (${opts.alias}) has no "${opts.metric}"; ${ref} replaces it`,
    };
  }
  const cmp = `${opts.metric} ${mine.toFixed(4)} vs ${theirs.toFixed(4)} of ${current.name}/${current.version}`;
  return mine >= theirs
    ? { promote: true, reason: `${ref} is at least as good (${cmp})` }
    : {
        promote: false,
        reason: `${ref} is worse than the current ${opts.alias} (${cmp}); use --force to promote anyway`,
      };
}
