import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { Command } from 'commander';
import { sqliteFileOf } from '../../app/backends.js';
import type { ReportRenderers } from '../../app/optimizers.js';
import { loadConfig } from '../../core/config.js';
import type { Progress } from '../../core/progress.js';
import { kindLabel } from '../../model/kinds/index.js';
import {
  DEFAULT_ALPHA,
  DEFAULT_STUDENT,
  DEFAULT_TEMPERATURE,
  parseDistillOptions,
  parsePruneOptions,
  parseQuantizeOptions,
} from '../../optimize/optimize-options.js';
import type { OptimizeReport } from '../../optimize/optimize-types.js';
import type { OptimizeRequest, OptimizeResult } from '../../optimize/run-optimize.js';
import { assertAlias, parseModelRef } from '../../registry/model-ref.js';
import { currentGitCommit } from '../git-commit.js';
import { printJson, usageError, writeJsonFile } from '../output.js';
import { outputWriteError, validateOutputPath } from '../output-path.js';
import { terminalProgress } from '../progress-bar.js';
import { parseIntOption } from './options.js';

interface CommonFlags {
  model: string;
  alias?: string;
  evalLoc?: string;
  dataLoc?: string;
  seed?: number;
  reportFp?: string;
  plotFp?: string;
  compare: boolean;
  json: boolean;
}

/** A request without the parts every method shares (those come from the common flags). */
type MethodPart =
  | { method: 'prune'; options: Extract<OptimizeRequest, { method: 'prune' }>['options'] }
  | { method: 'quantize'; options: Extract<OptimizeRequest, { method: 'quantize' }>['options'] }
  | {
      method: 'distill';
      options: Extract<OptimizeRequest, { method: 'distill' }>['options'];
      unlabeledLoc?: string;
    };

function withCommonFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--model <ref>', 'the parent: name@alias or name/version (e.g. tagifai@production)')
    .option('--alias <alias>', 'point this alias at the new version (default: no alias moves)')
    .option(
      '--eval-loc <loc>',
      "labeled CSV to measure on (default: the parent's validation split, re-derived from its dataset record)",
    )
    .option(
      '--data-loc <loc>',
      "labeled CSV to train on (default: the parent's training file), minus the evaluation rows",
    )
    .option('--seed <n>', 'random seed (default: $FERRY_SEED or 42)', parseIntOption)
    .option('--report-fp <path>', 'write the report as JSON')
    .option('--plot-fp <path>', 'write the report as a chart: .svg or .png')
    .option('--compare', "also measure the parent's earlier variants (newest 8), in the same report", false)
    .option('--json', 'machine-readable output on stdout', false);
}

export function registerOptimizeCommand(program: Command): void {
  const optimize = program
    .command('optimize')
    .description(
      'make a smaller or faster variant of a registered model, measured against it, registered as a new version',
    );

  withCommonFlags(
    optimize
      .command('prune')
      .description('set weights to zero (magnitude) or drop vocabulary features (structured)')
      .option('--method <method>', 'magnitude or structured', 'magnitude')
      .option('--sparsity <s>', 'with magnitude: share of weights set to zero, in (0, 1)')
      .option('--keep-features <n>', 'with structured: vocabulary features kept')
      .option('--fine-tune', 'refit the surviving weights on the training rows', false),
  ).action(
    (flags: CommonFlags & { method?: string; sparsity?: string; keepFeatures?: string; fineTune: boolean }) =>
      runCommand(flags, () => ({ method: 'prune', options: parsePruneOptions(flags) })),
  );

  withCommonFlags(
    optimize
      .command('quantize')
      .description('store the weights as int8 (used as int8 at inference) or float16 (storage only)')
      .option('--dtype <dtype>', 'int8 or float16', 'int8'),
  ).action((flags: CommonFlags & { dtype?: string }) =>
    runCommand(flags, () => ({ method: 'quantize', options: parseQuantizeOptions(flags) })),
  );

  withCommonFlags(
    optimize
      .command('distill')
      .description('train a small text student on the parent’s (the teacher’s) soft labels')
      .option('--student <spec>', 'word[:a-b], hashed:2^18[:a-b] or char:a-b', DEFAULT_STUDENT)
      .option('--temperature <t>', 'softening temperature, > 0', String(DEFAULT_TEMPERATURE))
      .option('--alpha <a>', 'weight of the true labels, in [0, 1]', String(DEFAULT_ALPHA))
      .option('--unlabeled-loc <loc>', 'CSV of unlabeled texts (title, description, id) the teacher labels'),
  ).action(
    (
      flags: CommonFlags & { student?: string; temperature?: string; alpha?: string; unlabeledLoc?: string },
    ) =>
      runCommand(flags, () => ({
        method: 'distill',
        options: parseDistillOptions(flags),
        ...(flags.unlabeledLoc !== undefined ? { unlabeledLoc: flags.unlabeledLoc } : {}),
      })),
  );
}

/** Every flag is checked before the registry is opened: a bad one costs nothing and registers nothing. */
async function runCommand(flags: CommonFlags, methodOf: () => MethodPart): Promise<void> {
  const part = methodOf();
  // Names are checked here too, so a typo fails before the parent is loaded, fitted and measured.
  parseModelRef(flags.model);
  if (flags.alias !== undefined) assertAlias(flags.alias);
  const config = loadConfig(process.env, flags.seed !== undefined ? { seed: flags.seed } : {});
  const inputs = [
    flags.evalLoc,
    flags.dataLoc,
    'unlabeledLoc' in part ? part.unlabeledLoc : undefined,
    sqliteFileOf(config.db),
  ];
  if (flags.reportFp !== undefined) await validateOutputPath(flags.reportFp, { flag: '--report-fp', inputs });
  if (flags.plotFp !== undefined) {
    plotFormat(flags.plotFp);
    await validateOutputPath(flags.plotFp, { flag: '--plot-fp', inputs });
  }
  // The optimizers (ONNX's protobuf among them) load when optimizing, not when the CLI starts.
  const [{ openOptimize }, { runOptimize }] = await Promise.all([
    import('../../app/open-optimize.js'),
    import('../../optimize/run-optimize.js'),
  ]);
  const app = await openOptimize(config, {
    gitCommit: currentGitCommit(),
    ...(flags.json ? {} : { onProgress: progressOf(terminalProgress()) }),
  });
  try {
    const request: OptimizeRequest = {
      ...part,
      model: flags.model,
      seed: config.seed,
      ...(flags.alias !== undefined ? { alias: flags.alias } : {}),
      ...(flags.evalLoc !== undefined ? { evalLoc: flags.evalLoc } : {}),
      ...(flags.compare ? { compare: true } : {}),
      ...(flags.dataLoc !== undefined ? { dataLoc: flags.dataLoc } : {}),
    };
    const result = await runOptimize(app.deps, request);
    await writeOutputs(flags, result.report, app.renderers);
    if (flags.json) return printJson(resultJson(result));
    process.stdout.write(`${summary(result, app.renderers)}\n`);
  } finally {
    await app.close();
  }
}

function plotFormat(path: string): 'svg' | 'png' {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext === '.svg' ? 'svg' : 'png';
  throw usageError(`--plot-fp ${path}: name a .svg or .png file`);
}

async function writeOutputs(
  flags: CommonFlags,
  report: OptimizeReport,
  renderers: ReportRenderers,
): Promise<void> {
  if (flags.reportFp !== undefined) await writeJsonFile(flags.reportFp, report, '--report-fp');
  if (flags.plotFp === undefined) return;
  const bytes = plotFormat(flags.plotFp) === 'svg' ? renderers.svg(report) : await renderers.png(report);
  try {
    await mkdir(dirname(flags.plotFp), { recursive: true });
    await writeFile(flags.plotFp, bytes);
  } catch (e) {
    throw outputWriteError('--plot-fp', flags.plotFp, e);
  }
}

function resultJson(r: OptimizeResult) {
  return {
    parent: `${r.parent.name}/${r.parent.version}`,
    model: `${r.variant.name}/${r.variant.version}`,
    version: r.variant,
    report: r.report,
  };
}

function summary(r: OptimizeResult, renderers: ReportRenderers): string {
  const v = r.variant;
  const aliases = v.aliases.length > 0 ? `; aliases: ${v.aliases.join(', ')}` : '; no alias moved';
  const e = r.report.evalSet;
  return [
    renderers.table(r.report),
    '',
    `evaluated on ${e.rows} rows: ${e.source}${e.seenInTraining ? ' (the parent was trained on these rows: its F1 here is optimistic)' : ''}`,
    `registered ${v.name}/${v.version} (${kindLabel(v.kind)}, ${v.artifactSize} bytes, sha256 ${v.artifactSha256.slice(0, 12)}) ` +
      `from ${r.parent.name}/${r.parent.version}${aliases}`,
  ].join('\n');
}

/** The orchestration's (step, done, total) as the CLI's bar: a new bar per step. */
function progressOf(progress: Progress): (step: string, done: number, total: number) => void {
  let current: string | null = null;
  return (step, done, total) => {
    if (step !== current) {
      if (current !== null) progress.stop();
      current = step;
      progress.start(step, total);
    }
    progress.tick(done);
    if (done >= total) {
      progress.stop();
      current = null;
    }
  };
}
