import type { FerryConfig } from '../core/config.js';
import type { OptimizeDeps } from '../optimize/run-optimize.js';
import { kindContextOf } from '../registry/load-model.js';
import { readDatasetLocation } from '../train/dataset-location.js';
import { openFerry } from './open-ferry.js';
import { type OptimizeKit, optimizeKit, type ReportRenderers } from './optimizers.js';

export interface OptimizeApp {
  deps: OptimizeDeps;
  renderers: ReportRenderers;
  close(): Promise<void>;
}

/**
 * `ferry optimize`'s dependencies: the registry (opened and migrated like every command's), the
 * methods, measurement and renderers of app/optimizers.ts, and the dataset reader (URLs cached
 * under the cache directory). `kit` replaces the assembled methods (tests).
 */
export async function openOptimize(
  config: FerryConfig,
  opts: { gitCommit?: string | null; onProgress?: OptimizeDeps['onProgress']; kit?: OptimizeKit } = {},
): Promise<OptimizeApp> {
  const kit = opts.kit ?? optimizeKit(config);
  const ferry = await openFerry(config);
  return {
    deps: {
      registry: ferry.registry,
      optimizers: kit.optimizers,
      measure: kit.measure,
      kindContext: kindContextOf(config),
      readData: (loc) => readDatasetLocation(loc, { cacheDir: config.cacheDir }),
      gitCommit: opts.gitCommit ?? null,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
    renderers: kit.renderers,
    close: () => ferry.close(),
  };
}
