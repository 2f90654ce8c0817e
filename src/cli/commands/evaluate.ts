import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { loadTextModel } from '../../registry/load-model.js';
import type { ModelVersion } from '../../registry/types.js';
import { fingerprint } from '../../train/dataset.js';
import { evaluateModel } from '../../train/evaluate.js';
import { loadLabeledDataset } from '../../train/load-dataset.js';
import { fmt, printJson, writeJsonFile } from '../output.js';
import { validateResultsPath } from '../output-path.js';

interface EvaluateFlags {
  model: string;
  datasetLoc?: string;
  resultsFp?: string;
  json: boolean;
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('score a registered model on a labeled CSV: overall, per class, slices, behavioural tests')
    .option(
      '--model <ref>',
      'model reference (name@alias or name/version)',
      `${DEFAULT_MODEL_NAME}@production`,
    )
    .option('--dataset-loc <loc>', 'labeled CSV path or URL (default: $DATASET_LOC)')
    .option('--results-fp <path>', 'write the evaluation report as JSON')
    .option('--json', 'print the report as JSON', false)
    .action(async (flags: EvaluateFlags) => {
      const config = loadConfig(process.env, flags.datasetLoc ? { datasetLoc: flags.datasetLoc } : {});
      await validateResultsPath(flags.resultsFp, config);
      const ctx = await openFerry(config);
      try {
        const { version, model } = await loadTextModel(ctx.registry, flags.model);
        const data = await loadLabeledDataset(config.datasetLoc, {
          cacheDir: config.cacheDir,
          knownTags: model.classes,
        });
        const dataset = fingerprint(data);
        const warnings = trainingDataWarnings(version, dataset.sha256);
        for (const w of warnings) process.stderr.write(`ferry: warning: ${w}\n`);
        const report = {
          model: `${version.name}/${version.version}`,
          dataset,
          warnings,
          ...evaluateModel(model, data.rows),
        };
        if (flags.resultsFp) await writeJsonFile(flags.resultsFp, report);
        if (flags.json) return printJson(report);
        const rows = [
          ['', 'precision', 'recall', 'f1', 'n'],
          ['overall (weighted)', ...metricCells(report.overall)],
          ...Object.entries(report.per_class).map(([c, m]) => [c, ...metricCells(m)]),
          ...Object.entries(report.slices).map(([s, m]) => [`slice ${s}`, ...metricCells(m)]),
        ];
        process.stdout.write(`${report.model} on ${data.source} (${data.rows.length} rows)\n`);
        for (const r of rows)
          process.stdout.write(
            `  ${r[0]!.padEnd(32)}${r
              .slice(1)
              .map((c) => c.padStart(10))
              .join('')}\n`,
          );
        const b = report.behavioral;
        process.stdout.write(`  behavioural tests: ${b.passed} passed, ${b.failed} failed\n`);
        for (const r of b.results.filter((x) => !x.pass)) {
          process.stdout.write(
            `    FAIL ${r.kind}: ${JSON.stringify(r.inputs)} expected ${JSON.stringify(r.expected)} got ${JSON.stringify(r.predicted)}\n`,
          );
        }
      } finally {
        await ctx.close();
      }
    });
}

function metricCells(m: { precision: number; recall: number; f1: number; num_samples: number }): string[] {
  return [fmt(m.precision), fmt(m.recall), fmt(m.f1), String(m.num_samples)];
}

/**
 * `ferry evaluate` defaults to $DATASET_LOC, the training data: a model scored on the rows it was
 * fitted on looks perfect. The registry keeps the training file's sha256, so say so when they match.
 */
function trainingDataWarnings(version: ModelVersion, evalSha256: string): string[] {
  if (version.dataset.sha256 !== evalSha256) return [];
  return [
    `the evaluation set is the data ${version.name}/${version.version} was trained on (sha256 ${evalSha256.slice(0, 12)}…): ` +
      'these scores are in-sample, not an estimate of quality; evaluate on held-out data (--dataset-loc)',
  ];
}
