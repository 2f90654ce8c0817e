import type { ModelRegistry } from '../registry/model-registry.js';
import { decidePromotion, type PromotionDecision } from '../registry/promotion.js';
import type { ModelVersion } from '../registry/types.js';
import type { TrainOutcome } from './pipeline.js';

export interface RegisterOptions {
  name: string;
  promote: boolean;
  force: boolean;
  alias: string;
  /** The metric --promote compares (higher is better). */
  metric: string;
  gitCommit: string | null;
}

export interface Registered {
  version: ModelVersion;
  promotion: PromotionDecision | null;
}

/** Registers a trained model as a new version and, when asked, moves the alias if it is no worse. */
export async function registerTrained(
  registry: ModelRegistry,
  outcome: TrainOutcome,
  opts: RegisterOptions,
): Promise<Registered> {
  const version = await registry.register(opts.name, outcome.model.toArtifact(), {
    kind: outcome.model.kind,
    params: { ...outcome.params },
    metrics: outcome.metrics,
    dataset: { ...outcome.dataset },
    tags: { trainer: 'ferry train' },
    gitCommit: opts.gitCommit,
  });
  if (!opts.promote) return { version, promotion: null };
  const current = await registry.resolve(`${opts.name}@${opts.alias}`).catch(() => null);
  const promotion = decidePromotion(version, current, {
    metric: opts.metric,
    force: opts.force,
    alias: opts.alias,
  });
  if (promotion.promote) await registry.setAlias(opts.name, opts.alias, version.version, promotion.reason);
  return {
    version: {
      ...version,
      aliases: promotion.promote ? [...version.aliases, opts.alias].sort() : version.aliases,
    },
    promotion,
  };
}
