import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { openProfileStore, profileTrainedVersion } from '../../app/open-monitoring.js';
import { loadConfig } from '../../core/config.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { DEFAULT_MIN_TRAIN_ROWS } from '../../registry/promotion.js';
import { loadLabeledDataset } from '../../train/load-dataset.js';
import { trainTextClassifierInWorkers } from '../../train/pipeline.js';
import { registerTrained } from '../../train/register-trained.js';
import { GRIDS } from '../../train/tune.js';
import { currentGitCommit } from '../git-commit.js';
import { EXIT_NOT_PROMOTED, fmt, printJson, usageError, writeJsonFile } from '../output.js';
import { validateResultsPath } from '../output-path.js';
import { terminalProgress } from '../progress-bar.js';
import { parseIntOption } from './options.js';

interface TrainFlags {
  datasetLoc?: string;
  name: string;
  seed?: number;
  folds: number;
  tune: boolean;
  grid: string;
  promote: boolean;
  force: boolean;
  evalLoc?: string;
  minTrainRows: number;
  failIfNotPromoted: boolean;
  alias: string;
  resultsFp?: string;
  json: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train the tag classifier (cross-validated), evaluate it, and register it as a new version')
    .option(
      '--dataset-loc <loc>',
      'CSV path or http(s) URL (default: $DATASET_LOC, else the course dataset URL)',
    )
    .option('--name <name>', 'registered model name', DEFAULT_MODEL_NAME)
    .option(
      '--seed <n>',
      'random seed for the split and the folds (default: $FERRY_SEED or 42)',
      parseIntOption,
    )
    .option('--folds <k>', 'cross-validation folds', parseIntOption, 5)
    .option('--no-tune', 'skip cross-validation and train the default hyperparameters')
    .option(
      '--grid <name>',
      `hyperparameter grid to cross-validate: ${Object.keys(GRIDS).join(', ')}`,
      'default',
    )
    .option(
      '--promote',
      'point the alias at the new version if it passes the gate: enough rows, every class of the current version, and at least as good on the same data',
      false,
    )
    .option('--force', 'with --promote: promote whatever the gate says', false)
    .option(
      '--eval-loc <loc>',
      "with --promote: labeled CSV to compare the new and the current version on (default: the new version's validation split)",
    )
    .option(
      '--min-train-rows <n>',
      'with --promote: refuse a version trained on fewer rows',
      parseIntOption,
      DEFAULT_MIN_TRAIN_ROWS,
    )
    .option(
      '--fail-if-not-promoted',
      `with --promote: exit ${EXIT_NOT_PROMOTED} when the new version is registered but not promoted (for CI)`,
      false,
    )
    .option('--alias <alias>', 'alias moved by --promote', 'production')
    .option('--results-fp <path>', 'write the training results (metrics, tuning, validation report) as JSON')
    .option('--json', 'machine-readable output on stdout', false)
    .action(async (flags: TrainFlags) => {
      const grid = GRIDS[flags.grid];
      if (!grid)
        throw usageError(`unknown --grid "${flags.grid}"; choose one of ${Object.keys(GRIDS).join(', ')}`);
      if (flags.folds < 2) throw usageError('--folds must be at least 2');
      const config = loadConfig(process.env, {
        ...(flags.datasetLoc ? { datasetLoc: flags.datasetLoc } : {}),
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      });
      if ((flags.evalLoc || flags.failIfNotPromoted) && !flags.promote)
        throw usageError('--eval-loc and --fail-if-not-promoted need --promote');
      await validateResultsPath(flags.resultsFp, config);
      const ctx = await openFerry(config);
      try {
        // Read before training, so a bad --eval-loc fails in seconds, not after cross-validation.
        const evalSet = flags.evalLoc
          ? await loadLabeledDataset(flags.evalLoc, { cacheDir: config.cacheDir })
          : undefined;
        const data = await loadLabeledDataset(config.datasetLoc, { cacheDir: config.cacheDir });
        // Folds on worker threads: the same model bytes as in one thread, in about half the time.
        const outcome = await trainTextClassifierInWorkers(data, {
          seed: config.seed,
          folds: flags.folds,
          tune: flags.tune,
          grid,
          progress: terminalProgress(),
        });
        const { version, promotion } = await registerTrained(ctx.registry, outcome, {
          name: flags.name,
          promote: flags.promote,
          force: flags.force,
          alias: flags.alias,
          gitCommit: currentGitCommit(),
          minTrainRows: flags.minTrainRows,
          ...(evalSet ? { evalSet } : {}),
        });
        // The drift report's reference; the version is registered whatever happens here, so a
        // failure is a warning that names the command that makes the profile later.
        let profile: { rows: number; features: string[] } | { error: string };
        try {
          const made = await profileTrainedVersion(await openProfileStore(ctx), version, outcome, data.rows);
          profile = { rows: made.rows, features: Object.keys(made.features) };
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          profile = { error: why };
          process.stderr.write(
            `ferry: warning: no reference profile for ${version.name}/${version.version} (${why}); make one with \`ferry monitor profile\`\n`,
          );
        }
        // "Not promoted" is a result, not an error: everything is printed, then CI sees the code.
        if (flags.failIfNotPromoted && promotion && !promotion.promote) process.exitCode = EXIT_NOT_PROMOTED;
        const result = {
          model: `${version.name}/${version.version}`,
          version,
          promotion,
          profile,
          metrics: outcome.metrics,
          tuning: outcome.tuning,
          validation: outcome.validation,
        };
        if (flags.resultsFp) await writeJsonFile(flags.resultsFp, result);
        if (flags.json) return printJson(result);
        const m = outcome.metrics;
        process.stdout.write(
          [
            `registered ${version.name}/${version.version} (sha256 ${version.artifactSha256.slice(0, 12)}, ${version.artifactSize} bytes)`,
            `  params: features=${outcome.params.charNgrams[1] > 0 ? 'word+char' : 'word'} C=${outcome.params.C} other-threshold=${outcome.params.otherThreshold}`,
            `  cv_f1=${fmt(m.cv_f1)} val_f1=${fmt(m.val_f1)} val_precision=${fmt(m.val_precision)} val_recall=${fmt(m.val_recall)} behavioral ${m.behavioral_passed}/${(m.behavioral_passed ?? 0) + (m.behavioral_failed ?? 0)} passed`,
            promotion ? `  ${promotion.promote ? 'promoted' : 'not promoted'}: ${promotion.reason}` : '',
            'rows' in profile ? `  reference profile for drift reports: ${profile.rows} validation rows` : '',
          ]
            .filter(Boolean)
            .join('\n') + '\n',
        );
      } finally {
        await ctx.close();
      }
    });
}
