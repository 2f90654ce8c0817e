import type { FerryConfig } from '../core/config.js';
import { ExperimentService } from '../experiments/experiment-service.js';
import { ExperimentStatsStore } from '../experiments/experiment-stats-store.js';
import { ExperimentStore } from '../experiments/experiment-store.js';
import type { RetrainDeps } from '../learning/retrain/retrain.js';
import { RetrainStore } from '../learning/retrain/retrain-store.js';
import type { FeedbackSource } from '../monitoring/feedback-types.js';
import { loadLabeledDataset } from '../train/load-dataset.js';
import { openFeedbackStore } from './open-feedback.js';
import type { FerryContext } from './open-ferry.js';
import { openProfileStore, profileTrainedVersion } from './open-monitoring.js';

/**
 * Retraining's dependencies over the registry's database: the runs and leases store, the labeled
 * feedback (`POST /v1/feedback`, `ferry feedback import`) joined to the prediction log, the
 * experiment use cases the canary policy creates its experiment through, and the dataset reader.
 * Stores are migrated here. `feedback` replaces the feedback store (null: the dataset alone). Each
 * registered candidate gets its reference profile, as `ferry train`'s versions do; `warn` hears when
 * one cannot be made (the run goes on).
 */
export async function openRetrain(
  ferry: FerryContext,
  config: FerryConfig,
  feedbackSource?: FeedbackSource | null,
  warn: (message: string) => void = (message) => process.stderr.write(`ferry: warning: ${message}\n`),
): Promise<RetrainDeps> {
  const feedback = feedbackSource === undefined ? await openFeedbackStore(ferry) : feedbackSource;
  const profiles = await openProfileStore(ferry);
  const store = new RetrainStore({ sql: ferry.sql });
  await store.init();
  const experimentStore = new ExperimentStore({ sql: ferry.sql });
  await experimentStore.init();
  const stats = new ExperimentStatsStore({ sql: ferry.sql });
  await stats.init();
  return {
    registry: ferry.registry,
    store,
    feedback,
    experiments: new ExperimentService({ store: experimentStore, registry: ferry.registry, stats }),
    onRegistered: async (version, outcome, trainRows) => {
      try {
        await profileTrainedVersion(profiles, version, outcome, trainRows);
      } catch (e) {
        warn(
          `no reference profile for ${version.name}/${version.version} (${e instanceof Error ? e.message : String(e)}); make one with \`ferry monitor profile\``,
        );
      }
    },
    loadDataset: (loc) => loadLabeledDataset(loc ?? config.datasetLoc, { cacheDir: config.cacheDir }),
  };
}
