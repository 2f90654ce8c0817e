import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, isFerryError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { loadTextModel } from '../../registry/load-model.js';
import type { ModelVersion } from '../../registry/types.js';
import { loadServingConfig } from '../../serving/serving-config.js';
import { EXAMPLE_PROJECTS } from '../../serving/warmup-inputs.js';
import { parseLabeledDataset } from '../../train/dataset.js';
import { COURSE_DATASET_URL } from '../../train/dataset-location.js';
import { loadLabeledDataset, SAMPLE_DATASET_PATH } from '../../train/load-dataset.js';
import { trainTextClassifier } from '../../train/pipeline.js';
import { registerTrained } from '../../train/register-trained.js';
import { currentGitCommit } from '../git-commit.js';
import { fmt } from '../output.js';
import { processLogger } from '../process-logger.js';
import { terminalProgress } from '../progress-bar.js';
import { serveOrExit } from './serve.js';

const NAME = DEFAULT_MODEL_NAME;

/** `npm start`: make sure tagifai@production exists (train it if not), then show it predicting. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'the main job: train tagifai@production if missing, show a few predictions, then serve on port 8000',
    )
    .option('--no-serve', 'exit after the example predictions instead of serving')
    .action(async (flags: { serve: boolean }) => {
      const config = loadConfig();
      const ctx = await openFerry(config);
      // Through the process logger, as the server's lines that follow: one format on one stream.
      const log = processLogger();
      const say = (line: string) => log.info(line);
      try {
        const existing = await ctx.registry.resolve(`${NAME}@production`).catch((e: unknown) => {
          if (isFerryError(e, ErrorCode.REGISTRY_NOT_FOUND)) return null;
          throw e;
        });
        if (existing) {
          say(
            `${NAME}@production is ${NAME}/${existing.version} (val_f1 ${fmt(existing.metrics.val_f1)}); registry at ${config.db}`,
          );
          const notice = await sampleModelNotice(existing, config.datasetLoc);
          if (notice) say(notice);
        } else {
          say(`no ${NAME}@production in ${config.db}: training one`);
          const loc = config.datasetLoc ?? COURSE_DATASET_URL;
          const data = await loadLabeledDataset(loc, { cacheDir: config.cacheDir }).catch(
            async (e: unknown) => {
              if (!isFerryError(e, ErrorCode.DATA_UNREACHABLE) && !isFerryError(e, ErrorCode.DATA_NOT_FOUND))
                throw e;
              say(`dataset ${loc} is not reachable (${e.message}).`);
              say(
                `Falling back to the small sample dataset shipped with Ferry (${SAMPLE_DATASET_PATH}); the model will be rough. Set DATASET_LOC to train on real data.`,
              );
              return parseLabeledDataset(await readFile(SAMPLE_DATASET_PATH), SAMPLE_DATASET_PATH);
            },
          );
          say(`dataset: ${data.source} (${data.rows.length} rows)`);
          const outcome = trainTextClassifier(data, { seed: config.seed, progress: terminalProgress() });
          const { version, promotion } = await registerTrained(ctx.registry, outcome, {
            name: NAME,
            promote: true,
            force: false,
            alias: 'production',
            gitCommit: currentGitCommit(),
          });
          say(
            `registered ${NAME}/${version.version}: cv_f1 ${fmt(outcome.metrics.cv_f1)}, val_f1 ${fmt(outcome.metrics.val_f1)}; ${promotion?.reason}`,
          );
        }
        const { version, model } = await loadTextModel(ctx.registry, `${NAME}@production`);
        say(`predictions of ${NAME}/${version.version} for a few example projects:`);
        const predictions = await model.predict(EXAMPLE_PROJECTS);
        EXAMPLE_PROJECTS.forEach((p, i) => {
          const pred = predictions[i]!;
          say(
            `  ${p.title.padEnd(40)} -> ${pred.prediction} (${fmt(pred.probabilities[pred.prediction], 3)})`,
          );
        });
      } finally {
        await ctx.close();
      }
      if (flags.serve) {
        say(
          'serving: POST /predict, Open Inference Protocol v2 under /v2, metrics at /metrics, docs at /docs',
        );
        await serveOrExit(loadServingConfig(process.env));
      }
    });
}

/**
 * `start` never retrains a production model it finds (it would replace one a user may have chosen).
 * When that model was trained on the bundled sample, typically after an offline first run, it says
 * so, and gives the exact command that retrains on the real data.
 */
async function sampleModelNotice(
  production: ModelVersion,
  datasetLoc: string | undefined,
): Promise<string | null> {
  const sampleSha = sha256Hex(await readFile(SAMPLE_DATASET_PATH));
  if (production.dataset.sha256 !== sampleSha) return null;
  const ref = `${production.name}/${production.version}`;
  const rows = typeof production.dataset.rows === 'number' ? `, ${production.dataset.rows} rows` : '';
  const head = `notice: ${NAME}@production (${ref}) was trained on the small sample shipped with Ferry (${SAMPLE_DATASET_PATH}${rows}); its predictions are rough.`;
  const loc = datasetLoc ?? COURSE_DATASET_URL;
  const where = datasetLoc
    ? `DATASET_LOC is set to ${datasetLoc}`
    : `the course dataset is ${COURSE_DATASET_URL}`;
  return `${head}\n${where}: to train on it and promote the result if it is better, run\n  npx ferry train --dataset-loc ${loc} --promote`;
}
