import { fileURLToPath } from 'node:url';
import { type Dataset, type ParseOptions, parseLabeledDataset } from './dataset.js';
import { COURSE_DATASET_URL, readDatasetLocation } from './dataset-location.js';

/** The small sample dataset Ferry ships (written for Ferry, not taken from the course). */
export const SAMPLE_DATASET_PATH = fileURLToPath(new URL('../../data/sample-dataset.csv', import.meta.url));

export async function loadLabeledDataset(
  loc: string | undefined,
  opts: ParseOptions & { cacheDir: string; timeoutMs?: number },
): Promise<Dataset & { fromCache: boolean }> {
  const fetched = await readDatasetLocation(loc ?? COURSE_DATASET_URL, opts);
  return { ...parseLabeledDataset(fetched.bytes, fetched.source, opts), fromCache: fetched.fromCache };
}
