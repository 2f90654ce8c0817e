import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { openFeedbackStore } from '../../app/open-feedback.js';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { parseDuration } from '../../core/duration.js';
import { checkClasses } from '../../monitoring/feedback/feedback-input.js';
import { parseLabelFile } from '../../monitoring/feedback/label-file.js';
import { type QualityReport, rollingQuality } from '../../monitoring/feedback/quality.js';
import { kindContextOf, loadModel } from '../../registry/load-model.js';
import { fmt, printJson, usageError } from '../output.js';

/** Labels per transaction of an import: a conflict costs at most this many (rerunning is idempotent). */
const IMPORT_CHUNK = 1000;

/** The classes of the model's production version (what the server checks labels against). */
async function productionClasses(
  ferry: Awaited<ReturnType<typeof openFerry>>,
  model: string,
): Promise<readonly string[]> {
  const { model: loaded } = await loadModel(
    ferry.registry,
    `${model}@production`,
    kindContextOf(loadConfig()),
  );
  try {
    return loaded.classes;
  } finally {
    await loaded.close?.();
  }
}

function printReport(model: string, report: QualityReport): void {
  const lines = [`${model}: ${report.matched} labels joined to a prediction, ${report.unmatched} unmatched`];
  if (report.versions.length > 0) lines.push('version   labels  no-label  compared  accuracy  weighted-F1');
  for (const v of report.versions) {
    lines.push(
      `${String(v.version).padEnd(9)} ${String(v.labels).padStart(6)}  ${String(v.withoutPrediction).padStart(8)}  ${String(v.compared).padStart(8)}  ${(v.accuracy === null ? '-' : fmt(v.accuracy)).padStart(8)}  ${(v.weightedF1 === null ? '-' : fmt(v.weightedF1)).padStart(11)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerFeedbackCommand(program: Command): void {
  const feedback = program
    .command('feedback')
    .description('delayed labels: import ground truth for logged predictions, and the quality it shows');

  feedback
    .command('import <file>')
    .description(
      'store labels from a .csv (columns request_id|entity_id, item, label) or .jsonl file; labels already stored count once',
    )
    .requiredOption('--model <name>', 'the model the predictions came from')
    .option('--json', 'JSON output', false)
    .action(async (file: string, flags: { model: string; json: boolean }) => {
      const labels = parseLabelFile(await readFile(file), file);
      const ferry = await openFerry(loadConfig());
      try {
        const classes = await productionClasses(ferry, flags.model);
        const store = await openFeedbackStore(ferry);
        const total = { received: labels.length, stored: 0, duplicates: 0, unmatched: 0 };
        for (let i = 0; i < labels.length; i += IMPORT_CHUNK) {
          const chunk = labels.slice(i, i + IMPORT_CHUNK).map((l) => l.label);
          checkClasses(flags.model, chunk, classes);
          const out = await store.record(flags.model, chunk);
          total.stored += out.stored;
          total.duplicates += out.duplicates;
          total.unmatched += out.unmatched;
        }
        if (flags.json) return printJson({ model: flags.model, ...total });
        process.stdout.write(
          `${flags.model}: ${total.received} labels read, ${total.stored} stored (${total.unmatched} without a known prediction yet), ${total.duplicates} already stored\n`,
        );
      } finally {
        await ferry.close();
      }
    });

  feedback
    .command('stats')
    .description('accuracy and weighted F1 per version on the labels received (all, or a rolling window)')
    .requiredOption('--model <name>', 'the model')
    .option('--window <duration>', 'only labels received in this last span (90s, 15m, 1h, 7d)')
    .option('--last <n>', 'only the last N labels received')
    .option('--json', 'JSON output (with per-class F1)', false)
    .action(async (flags: { model: string; window?: string; last?: string; json: boolean }) => {
      let windowMs: number | undefined;
      if (flags.window !== undefined) {
        const d = parseDuration(flags.window);
        if (!d.ok || d.ms <= 0) throw usageError(`--window: ${d.ok ? 'must be positive' : d.reason}`);
        windowMs = d.ms;
      }
      let last: number | undefined;
      if (flags.last !== undefined) {
        if (!/^\d{1,9}$/.test(flags.last) || Number(flags.last) === 0)
          throw usageError('--last: a positive integer');
        last = Number(flags.last);
      }
      const ferry = await openFerry(loadConfig());
      try {
        const store = await openFeedbackStore(ferry);
        const report = await rollingQuality(store, flags.model, {
          ...(windowMs !== undefined ? { windowMs } : {}),
          ...(last !== undefined ? { last } : {}),
        });
        if (flags.json) return printJson({ model: flags.model, ...report });
        printReport(flags.model, report);
      } finally {
        await ferry.close();
      }
    });
}
