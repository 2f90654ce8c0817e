import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { sqliteFileOf } from '../../app/backends.js';
import { openFerry } from '../../app/open-ferry.js';
import { openCliMonitoring, openProfileStore, profileFromFile } from '../../app/open-monitoring.js';
import { loadConfig } from '../../core/config.js';
import { readSetting } from '../../core/settings/read-settings.js';
import type { DriftMethod } from '../../monitoring/drift-types.js';
import type { DriftSettings } from '../../monitoring/report/drift-report.js';
import { renderHtml } from '../../monitoring/report/render-html.js';
import { renderTable } from '../../monitoring/report/render-table.js';
import { resolveWindow } from '../../monitoring/report/window.js';
import { printJson, usageError } from '../output.js';
import { outputWriteError, validateOutputPath } from '../output-path.js';

interface ReportFlags {
  model: string;
  window?: string;
  since?: string;
  until?: string;
  json: boolean;
  html?: string;
  numericMethod?: string;
  categoricalMethod?: string;
  threshold?: string;
  textThreshold?: string;
  driftShare?: string;
  seed?: string;
}

function numberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw usageError(`${flag} must be a number, got "${value}"`);
  return n;
}

/** The flags' overrides; methods and thresholds are checked against the column types by the report. */
function settingsOf(flags: ReportFlags): DriftSettings {
  const threshold = numberFlag('--threshold', flags.threshold);
  const textThreshold = numberFlag('--text-threshold', flags.textThreshold);
  const driftShare = numberFlag('--drift-share', flags.driftShare);
  const seed = numberFlag('--seed', flags.seed);
  const column = (method: string | undefined) => ({
    ...(method !== undefined ? { method: method as DriftMethod } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
  });
  return {
    numeric: column(flags.numericMethod),
    categorical: column(flags.categoricalMethod),
    ...(textThreshold !== undefined ? { textThreshold } : {}),
    ...(driftShare !== undefined ? { driftShare } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

export function registerMonitorCommand(program: Command): void {
  const monitor = program
    .command('monitor')
    .description('drift monitoring: reference profiles and reports over the prediction log');

  monitor
    .command('profile')
    .description(
      "make (or replace) a version's reference profile from a data file (CSV or JSONL of the model's inputs)",
    )
    .requiredOption('--model <ref>', 'NAME@ALIAS or NAME/VERSION')
    .requiredOption(
      '--data <path>',
      'the data: CSV with id,title,description for a text model; JSONL of inputs otherwise',
    )
    .option('--id-column <name>', 'the column that identifies a row', 'id')
    .option('--json', 'JSON output', false)
    .action(async (flags: { model: string; data: string; idColumn: string; json: boolean }) => {
      const config = loadConfig();
      const ferry = await openFerry(config);
      try {
        const profiles = await openProfileStore(ferry);
        const { profile, rejected } = await profileFromFile(
          { registry: ferry.registry, profiles, config },
          flags.model,
          flags.data,
          { idColumn: flags.idColumn },
        );
        const summary = {
          model: profile.model,
          version: profile.version,
          rows: profile.rows,
          rejected,
          source: profile.source,
          features: Object.keys(profile.features),
          outputs: Object.keys(profile.outputs),
          text: profile.text
            ? { oovRate: profile.text.oovRate, vocabulary: profile.text.vocabulary.length }
            : null,
        };
        if (flags.json) return printJson(summary);
        process.stdout.write(
          `profiled ${profile.model}/${profile.version} from ${profile.rows} rows (${rejected} refused): ${summary.features.length} features, ${summary.outputs.length} outputs\n`,
        );
      } finally {
        await ferry.close();
      }
    });

  monitor
    .command('report')
    .description('compare a window of the prediction log with the version’s reference profile')
    .requiredOption('--model <ref>', 'NAME@ALIAS or NAME/VERSION')
    .option(
      '--window <duration>',
      'the window ending now (or at --until): 30m, 1h, 7d (default: $FERRY_MONITOR_WINDOW_MS)',
    )
    .option('--since <iso>', 'start of the window, ISO 8601 with a zone (inclusive)')
    .option('--until <iso>', 'end of the window, ISO 8601 with a zone (exclusive; default now)')
    .option('--json', 'the report as JSON', false)
    .option('--html <path>', 'also write the report as one self-contained HTML file')
    .option('--numeric-method <m>', 'force a method for numeric features: ks, wasserstein, psi')
    .option(
      '--categorical-method <m>',
      'force a method for categorical features: chi-square, z-test, jensen-shannon, psi',
    )
    .option(
      '--threshold <x>',
      "the columns' drift threshold (default: the method's own, 0.05 for p-values, 0.1 for distances)",
    )
    .option('--text-threshold <auc>', "the domain classifier's ROC AUC threshold")
    .option('--drift-share <x>', 'share of drifted input columns at which the dataset drifts (default 0.5)')
    .option('--seed <n>', 'seed of the samples and the domain classifier (default 42)')
    .action(async (flags: ReportFlags) => {
      const config = loadConfig();
      const window = resolveWindow({
        window: flags.window,
        since: flags.since,
        until: flags.until,
        defaultWindowMs: readSetting(process.env, 'FERRY_MONITOR_WINDOW_MS'),
        now: new Date(),
      });
      const settings = settingsOf(flags);
      // Checked before any work: a report over a big window must not be lost to a bad path.
      const html =
        flags.html === undefined
          ? undefined
          : await validateOutputPath(flags.html, { flag: '--html', inputs: [sqliteFileOf(config.db)] });
      const ferry = await openFerry(config);
      try {
        const monitoring = await openCliMonitoring(ferry);
        const report = await monitoring.report(flags.model, window, settings);
        if (html !== undefined) {
          try {
            await mkdir(dirname(html), { recursive: true });
            await writeFile(html, renderHtml(report));
          } catch (e) {
            throw outputWriteError('--html', html, e);
          }
        }
        if (flags.json) return printJson(report);
        process.stdout.write(renderTable(report));
        if (html !== undefined) process.stdout.write(`HTML report: ${html}\n`);
      } finally {
        await ferry.close();
      }
    });
}
