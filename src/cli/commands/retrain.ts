import type { Command } from 'commander';
import { type FerryContext, openFerry } from '../../app/open-ferry.js';
import { openRetrain } from '../../app/open-retrain.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError, isFerryError } from '../../core/errors.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { readSetting } from '../../core/settings/read-settings.js';
import type { GateSettings } from '../../learning/retrain/gate.js';
import {
  type RetrainPolicy,
  type RetrainResult,
  type RetrainTrigger,
  retrain,
} from '../../learning/retrain/retrain.js';
import type { RetrainRun } from '../../learning/retrain/retrain-store.js';
import { RetrainWatcher, type RetrainWatcherOptions } from '../../learning/retrain/triggers.js';
import { AlertStore } from '../../monitoring/alerts/alert-store.js';
import type { EvaluationReport } from '../../train/evaluate.js';
import { GRIDS } from '../../train/tune.js';
import { EXIT_NOT_PROMOTED, fmt, printJson, reportError, usageError } from '../output.js';
import { processLogger } from '../process-logger.js';
import { parseIntOption } from './options.js';

/** `ferry retrain` when another run of the model holds the lease (distinct from a refusal, 3). */
const EXIT_RETRAIN_BUSY = 4;

interface RetrainFlags {
  model: string;
  datasetLoc?: string;
  policy?: string;
  minF1?: string;
  classMargin?: string;
  minEvalRows?: string;
  seed?: number;
  tuneGrid?: string;
  watch: boolean;
  schedule?: string;
  afterLabels?: string;
  /** true: any rule; a string: comma-separated rule names. */
  onAlert?: boolean | string;
  json: boolean;
}

function gateSettings(flags: RetrainFlags): GateSettings {
  const env = process.env;
  return {
    minF1: readSetting(env, 'FERRY_RETRAIN_MIN_F1', { raw: flags.minF1, label: '--min-f1' }),
    classMargin: readSetting(env, 'FERRY_RETRAIN_CLASS_MARGIN', {
      raw: flags.classMargin,
      label: '--class-margin',
    }),
    minEvalRows: readSetting(env, 'FERRY_RETRAIN_MIN_EVAL_ROWS', {
      raw: flags.minEvalRows,
      label: '--min-eval-rows',
    }),
  };
}

function summary(name: string, r: EvaluationReport | undefined): string {
  if (!r) return `  ${name.padEnd(22)} (none)`;
  const b = r.behavioral;
  return `  ${name.padEnd(22)} weighted F1 ${fmt(r.overall.f1)}  precision ${fmt(r.overall.precision)}  recall ${fmt(r.overall.recall)}  behavioural ${b.passed}/${b.passed + b.failed}`;
}

function printResult(r: RetrainResult): void {
  const d = r.decision;
  const lines = [
    `retrain ${r.model}: ${r.status === 'passed' ? 'PASSED' : `REFUSED (${d.failedRule})`} (run ${r.runId})`,
    `  data: ${r.dataset.source}: ${r.dataset.rows} rows, ${r.dataset.trainRows} to train, ${r.dataset.evalRows} to evaluate (feedback: ${r.feedback.added} added of ${r.feedback.read} read)`,
    summary(`candidate ${r.model}/${r.candidate.version}`, r.candidate.evaluation),
    summary(
      r.production ? `production ${r.model}/${r.production.version}` : 'production',
      r.production?.evaluation,
    ),
    '  per class (candidate / production):',
    ...Object.entries(d.figures.perClass).map(
      ([c, v]) =>
        `    ${c.padEnd(30)} ${fmt(v.candidate)} / ${v.production === null ? '-' : fmt(v.production)}`,
    ),
    ...d.reasons.map((line) => `  ${line}`),
  ];
  if (r.production?.scoredAs === 'refit')
    lines.push(
      '  note: production was trained on this dataset (the evaluation rows too): its recipe was refit on the train part and scored',
    );
  const o = r.outcome;
  if (o)
    lines.push(
      o.policy === 'canary'
        ? `  canary experiment ${o.experiment} started: production vs ${r.model}/${o.version}`
        : `  ${o.alias} -> ${r.model}/${o.version}${o.policy === 'staging' && o.note ? ` (${o.note})` : ''}`,
    );
  else lines.push(`  registered ${r.model}/${r.candidate.version}; no alias moved`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printHistory(runs: readonly RetrainRun[]): void {
  if (runs.length === 0) {
    process.stdout.write('no retraining runs\n');
    return;
  }
  for (const run of runs) {
    const d = run.decision as {
      candidateF1?: number;
      figures?: { candidateF1: number; productionF1: number | null };
      failedRule?: string | null;
    } | null;
    const figures = d?.figures
      ? ` F1 ${fmt(d.figures.candidateF1)} vs ${d.figures.productionF1 === null ? '-' : fmt(d.figures.productionF1)}`
      : '';
    const rule = run.status === 'refused' && d?.failedRule ? ` (${d.failedRule})` : '';
    const error = run.status === 'failed' ? ` ${run.errorCode ?? ''} ${run.errorMessage ?? ''}` : '';
    process.stdout.write(
      `${run.startedAt}  ${run.status.padEnd(8)}${rule} ${run.trigger}  candidate ${run.candidateVersion ?? '-'} production ${run.productionVersion ?? '-'}${figures}${error}\n`,
    );
  }
}

export function registerRetrainCommand(program: Command): void {
  const cmd = program
    .command('retrain')
    .description(
      'retrain on the dataset plus labeled feedback, evaluate the candidate and production on the same rows, gate, and apply the policy',
    )
    .option('--model <name>', 'registered model name', DEFAULT_MODEL_NAME)
    .option(
      '--dataset-loc <loc>',
      'CSV path or http(s) URL (default: $DATASET_LOC, else the course dataset URL)',
    )
    .option(
      '--policy <policy>',
      'what a candidate that passes becomes: staging, canary or promote ($FERRY_RETRAIN_POLICY)',
    )
    .option('--min-f1 <x>', "the candidate's least weighted F1 ($FERRY_RETRAIN_MIN_F1)")
    .option(
      '--class-margin <x>',
      "the most a class's F1 may fall below production's ($FERRY_RETRAIN_CLASS_MARGIN)",
    )
    .option('--min-eval-rows <n>', 'the smallest evaluation set ($FERRY_RETRAIN_MIN_EVAL_ROWS)')
    .option('--seed <n>', 'seed of the split (default: $FERRY_SEED or 42)', parseIntOption)
    .option(
      '--tune-grid <name>',
      `cross-validate a grid on the train part: ${Object.keys(GRIDS).join(', ')} (default: none)`,
    )
    .option('--watch', 'run until SIGTERM, retraining on the schedule, after new labels', false)
    .option('--schedule <cron>', 'with --watch: a cron expression ($FERRY_RETRAIN_SCHEDULE)')
    .option(
      '--after-labels <n>',
      'with --watch: retrain after this many new labels ($FERRY_RETRAIN_AFTER_LABELS)',
    )
    .option(
      '--on-alert [rules]',
      'with --watch: retrain when the monitor (`ferry monitor run`, `serve --monitor`) stores an alert of the model; optionally only these comma-separated rules',
    )
    .option('--json', 'machine-readable output on stdout', false)
    .action(async (flags: RetrainFlags) => {
      const policy = readSetting(process.env, 'FERRY_RETRAIN_POLICY', {
        raw: flags.policy,
        label: '--policy',
      }) as RetrainPolicy;
      const gate = gateSettings(flags);
      if (flags.tuneGrid !== undefined && !GRIDS[flags.tuneGrid])
        throw usageError(
          `unknown --tune-grid "${flags.tuneGrid}"; choose one of ${Object.keys(GRIDS).join(', ')}`,
        );
      if (
        !flags.watch &&
        (flags.schedule !== undefined || flags.afterLabels !== undefined || flags.onAlert !== undefined)
      )
        throw usageError('--schedule, --after-labels and --on-alert need --watch');
      const config = loadConfig(process.env, {
        ...(flags.datasetLoc ? { datasetLoc: flags.datasetLoc } : {}),
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      });
      const ctx = await openFerry(config);
      try {
        const deps = await openRetrain(ctx, config);
        const once = (trigger: RetrainTrigger, cause?: string) =>
          retrain(deps, {
            model: flags.model,
            trigger,
            ...(cause ? { cause } : {}),
            datasetLoc: config.datasetLoc,
            policy,
            gate,
            seed: config.seed,
            ...(flags.tuneGrid ? { tuneGrid: flags.tuneGrid } : {}),
          });
        if (flags.watch) {
          const alertSince = flags.onAlert === undefined ? undefined : await alertsOf(ctx, flags);
          return await watch(
            flags,
            deps.feedback,
            once,
            () => deps.store.lastStartedAt(flags.model),
            alertSince,
          );
        }
        let result: RetrainResult;
        try {
          result = await once('manual');
        } catch (e) {
          if (!isFerryError(e, ErrorCode.RETRAIN_BUSY)) throw e;
          process.exitCode = EXIT_RETRAIN_BUSY;
          reportError(e, flags.json);
          return;
        }
        if (flags.json) printJson(result);
        else printResult(result);
        // A refusal is a result: everything is printed, then stderr has the code and CI the exit code.
        if (result.status === 'refused') {
          const d = result.decision;
          reportError(
            new FerryError(
              ErrorCode.RETRAIN_REFUSED,
              `the gate refused ${result.model}/${result.candidate.version} (rule ${d.failedRule}); nothing was promoted`,
              { details: { run: result.runId, failedRule: d.failedRule, figures: d.figures } },
            ),
            flags.json,
          );
          process.exitCode = EXIT_NOT_PROMOTED;
        }
      } finally {
        await ctx.close();
      }
    });

  cmd
    .command('history')
    .description("a model's retraining runs, newest first, with their figures and decisions")
    .option('--model <name>', 'registered model name', DEFAULT_MODEL_NAME)
    .option('--json', 'machine-readable output on stdout', false)
    .action(async (_own: unknown, sub: Command) => {
      // `--model` and `--json` are also the parent's options, which commander gives the parent.
      const flags = sub.optsWithGlobals<{ model: string; json: boolean }>();
      const config = loadConfig(process.env);
      const ctx = await openFerry(config);
      try {
        const deps = await openRetrain(ctx, config);
        const runs = await deps.store.history(flags.model);
        if (flags.json) printJson(runs);
        else printHistory(runs);
      } finally {
        await ctx.close();
      }
    });
}

type AlertSince = NonNullable<RetrainWatcherOptions['alertSince']>;

/** `--on-alert [rules]`: the newest stored alert of the model (of those rules) since a time. */
async function alertsOf(ctx: FerryContext, flags: RetrainFlags): Promise<AlertSince> {
  const store = new AlertStore(ctx.sql);
  await store.init();
  const rules =
    typeof flags.onAlert === 'string'
      ? new Set(
          flags.onAlert
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean),
        )
      : undefined;
  return async (since) => {
    const alerts = await store.list(flags.model, { since, limit: 1000 });
    return alerts.find((a) => a.firedAt > since && (rules === undefined || rules.has(a.rule)));
  };
}

async function watch(
  flags: RetrainFlags,
  feedback: Parameters<typeof openRetrain>[2],
  once: (trigger: RetrainTrigger, cause?: string) => Promise<RetrainResult>,
  lastRunAt: () => Promise<string | null>,
  alertSince: AlertSince | undefined,
): Promise<void> {
  const log = processLogger();
  const schedule = readSetting(process.env, 'FERRY_RETRAIN_SCHEDULE', {
    raw: flags.schedule,
    label: '--schedule',
  });
  const afterLabels = readSetting(process.env, 'FERRY_RETRAIN_AFTER_LABELS', {
    raw: flags.afterLabels,
    label: '--after-labels',
  });
  if (!schedule && afterLabels === 0 && !alertSince)
    throw usageError(
      '--watch needs a trigger: --schedule (FERRY_RETRAIN_SCHEDULE), --after-labels or --on-alert',
    );
  const watcher = new RetrainWatcher({
    model: flags.model,
    schedule,
    afterLabels,
    feedback: feedback ?? null,
    lastRunAt,
    ...(alertSince ? { alertSince, labelCheckMs: 10_000 } : {}),
    log,
    run: async (trigger, cause) => {
      const r = await once(trigger, cause);
      log.info(
        {
          model: r.model,
          run: r.runId,
          status: r.status,
          failedRule: r.decision.failedRule,
          outcome: r.outcome,
        },
        `retrain: ${r.status}`,
      );
    },
  });
  watcher.start();
  log.info(
    { model: flags.model, schedule, afterLabels, onAlert: flags.onAlert, next: watcher.nextScheduled() },
    'retrain: watching',
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await watcher.stop();
  log.info({ model: flags.model }, 'retrain: stopped');
}
