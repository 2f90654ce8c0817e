import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { validateTextInput } from '../../model/validate-input.js';
import { loadTextModel } from '../../registry/load-model.js';
import { loadTextLimits } from '../../serving/serving-config.js';
import { printJson } from '../output.js';

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('predict the tag of one project; prints [{"prediction", "probabilities"}] like the course')
    .option(
      '--model <ref>',
      'model reference (name@alias or name/version)',
      `${DEFAULT_MODEL_NAME}@production`,
    )
    .requiredOption('--title <text>', 'project title')
    .option('--description <text>', 'project description', '')
    .option('--json', 'JSON output (the default; accepted for symmetry)', true)
    .action(async (flags: { model: string; title: string; description: string }) => {
      // The limits of POST /predict (FERRY_MAX_STRING_LENGTH): a text the server refuses is refused here.
      const input = validateTextInput(
        { title: flags.title, description: flags.description },
        'input',
        loadTextLimits(process.env),
      );
      const ctx = await openFerry(loadConfig());
      try {
        const { model } = await loadTextModel(ctx.registry, flags.model);
        printJson(await model.predict([input]));
      } finally {
        await ctx.close();
      }
    });
}
