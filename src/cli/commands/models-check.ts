import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { type CheckReport, checkCustomModel } from '../../model/kinds/custom/check-model.js';
import { printJson } from '../output.js';
import { parseIntOption } from './options.js';

function printReport(path: string, report: CheckReport): void {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => {
    const mark = c.skipped ? '-' : c.ok ? '✓' : '✗';
    return `  ${mark} ${c.name.padEnd(width)}  ${c.message}`;
  });
  const passed = report.checks.filter((c) => c.ok).length;
  process.stdout.write(
    `custom model ${path}\n${lines.join('\n')}\n${passed} of ${report.checks.length} checks passed\n`,
  );
}

/** `ferry models check <path>`: the conformance checks of a custom model (model/kinds/custom/check-model.ts). */
export function registerModelsCheckCommand(models: Command): void {
  models
    .command('check <path>')
    .description('run the conformance checks of a custom model (a module file or its directory)')
    .option(
      '--entry <file>',
      'the entry module inside the directory (default: model.mjs, model.js, index.mjs, index.js)',
    )
    .option('--timeout-ms <ms>', 'longest a call into the model may take', parseIntOption, 10_000)
    .option('--json', 'JSON output', false)
    .action(async (path: string, flags: { entry?: string; timeoutMs: number; json: boolean }) => {
      const report = await checkCustomModel(path, {
        cacheDir: loadConfig().cacheDir,
        callTimeoutMs: Math.max(1, flags.timeoutMs),
        ...(flags.entry !== undefined ? { entry: flags.entry } : {}),
      });
      if (flags.json) printJson(report);
      else printReport(path, report);
      const failed = report.checks.filter((c) => !c.ok && !c.skipped).map((c) => c.name);
      const notRun = report.checks.filter((c) => !c.ok && c.skipped).map((c) => c.name);
      if (failed.length > 0 || notRun.length > 0) {
        // Exit code 1 through the CLI's one error path (FERRY_MODEL_CHECK_FAILED on stderr).
        const rest = notRun.length > 0 ? `; ${notRun.length} not run` : '';
        throw new FerryError(
          ErrorCode.MODEL_CHECK_FAILED,
          `${failed.length} of ${report.checks.length} checks failed (${failed.join(', ')})${rest}`,
          { details: { failed, notRun } },
        );
      }
    });
}
