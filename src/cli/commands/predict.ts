import type { Command } from 'commander';
import { openFerry } from '../../adapters/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { validateTextInput } from '../../model/validate-input.js';
import { loadModel } from '../../registry/load-model.js';
import { printJson } from '../output.js';

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('predict the tag of one project; prints [{"prediction", "probabilities"}] like the course')
    .option('--model <ref>', 'model reference (name@alias or name/version)', 'tagifai@production')
    .requiredOption('--title <text>', 'project title')
    .option('--description <text>', 'project description', '')
    .option('--json', 'JSON output (the default; accepted for symmetry)', true)
    .action(async (flags: { model: string; title: string; description: string }) => {
      const input = validateTextInput({ title: flags.title, description: flags.description });
      const ctx = await openFerry(loadConfig());
      try {
        const { model } = await loadModel(ctx.registry, flags.model);
        printJson(await model.predict([input]));
      } finally {
        await ctx.close();
      }
    });
}
