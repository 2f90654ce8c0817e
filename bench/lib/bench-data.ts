import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFerry } from '../../src/app/open-ferry.js';
import { loadConfig } from '../../src/core/config.js';
import { parseCsvTable } from '../../src/train/csv-table.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';
import { registerTrained } from '../../src/train/register-trained.js';
import { QUICK_GRID } from '../../src/train/tune.js';

/**
 * The serving benches' model: trained on `dataset.csv` (quick grid, 3 folds, seed 42), registered
 * in `home` as tagifai@production; its artifact bytes are also written to `artifactFile`, which the
 * bare handlers load.
 */
export async function registerQuickModel(home: string, dataDir: string, artifactFile: string): Promise<void> {
  const data = parseLabeledDataset(readFileSync(join(dataDir, 'dataset.csv')), 'dataset.csv');
  const ctx = await openFerry(loadConfig({}, { home }));
  try {
    await registerTrained(ctx.registry, trainTextClassifier(data, { seed: 42, grid: QUICK_GRID, folds: 3 }), {
      name: 'tagifai',
      promote: true,
      force: true,
      alias: 'production',
      gitCommit: null,
    });
    writeFileSync(artifactFile, (await ctx.registry.loadArtifact('tagifai@production')).bytes);
  } finally {
    await ctx.close();
  }
}

/** projects.csv's rows, as read. */
export function readProjects(dataDir: string): Record<string, string>[] {
  return parseCsvTable(readFileSync(join(dataDir, 'projects.csv')), 'projects.csv').rows.map((r) => r.values);
}

/** A batch job's input: `rows` records `id,title,description`, projects.csv repeated with new ids `p-<n>`. */
export function writeProjectsInput(
  file: string,
  projects: readonly Record<string, string>[],
  rows: number,
): void {
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const lines = ['id,title,description'];
  for (let i = 0; i < rows; i++) {
    const p = projects[i % projects.length]!;
    lines.push(`p-${i},${q(p.title ?? '')},${q(p.description ?? '')}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
