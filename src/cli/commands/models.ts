import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { describeRegistry, loadConfig } from '../../core/config.js';
import { kindLabel } from '../../model/kinds/index.js';
import type { ModelVersion } from '../../registry/types.js';
import { fmt, printJson, usageError } from '../output.js';
import { registerModelsCheckCommand } from './models-check.js';
import { registerModelsExportCommand } from './models-export.js';
import { registerModelsRegisterCommand } from './models-register.js';

async function withRegistry<T>(
  fn: (ctx: Awaited<ReturnType<typeof openFerry>>, location: string) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const ctx = await openFerry(config);
  try {
    return await fn(ctx, describeRegistry(config));
  } finally {
    await ctx.close();
  }
}

function versionLine(v: ModelVersion): string {
  const aliases = v.aliases.length ? ` [${v.aliases.join(', ')}]` : '';
  return `${`${v.name}/${v.version}`.padEnd(16)} ${v.createdAt}  ${kindLabel(v.kind).padEnd(15)} val_f1=${fmt(v.metrics.val_f1)}  ${v.artifactSha256.slice(0, 12)}${aliases}`;
}

export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('the model registry: versions and aliases');

  models
    .command('list [name]')
    .description('list registered versions (all models, or one)')
    .option('--json', 'JSON output', false)
    .action((name: string | undefined, flags: { json: boolean }) =>
      withRegistry(async ({ registry }, location) => {
        const versions = await registry.list(name);
        if (flags.json) return printJson(versions);
        if (versions.length === 0)
          process.stdout.write(
            name ? `no versions of "${name}" in ${location}\n` : `the registry ${location} is empty\n`,
          );
        for (const v of versions) process.stdout.write(`${versionLine(v)}\n`);
      }),
    );

  models
    .command('show <ref>')
    .description('show one version: params, metrics, dataset, lineage')
    .option('--json', 'JSON output', false)
    .action((ref: string, flags: { json: boolean }) =>
      withRegistry(async ({ registry }) => {
        const v = await registry.resolve(ref);
        if (flags.json) return printJson(v);
        process.stdout.write(
          `${versionLine(v)}\n${JSON.stringify({ kind: v.kind, signature: v.signature, artifactSize: v.artifactSize, params: v.params, metrics: v.metrics, dataset: v.dataset, gitCommit: v.gitCommit, artifact: v.artifactLocation }, null, 2)}\n`,
        );
      }),
    );

  models
    .command('alias <name> <alias> <version>')
    .description('point an alias (production, staging, any name) at a version, atomically')
    .option('--json', 'JSON output', false)
    .action((name: string, alias: string, version: string, flags: { json: boolean }) =>
      withRegistry(async ({ registry }) => {
        const to = Number(version);
        if (!/^[0-9]+$/.test(version) || !Number.isSafeInteger(to) || to < 1)
          throw usageError(`version must be a positive integer, got "${version}"`);
        const from = await registry.setAlias(name, alias, to, 'ferry models alias');
        if (flags.json) return printJson({ name, alias, from, to });
        process.stdout.write(`${name}@${alias}: ${from ?? 'none'} -> ${to}\n`);
      }),
    );

  models
    .command('rollback <name>')
    .description('move an alias back to the version it pointed at before its last move')
    .option('--alias <alias>', 'alias to roll back', 'production')
    .option('--json', 'JSON output', false)
    .action((name: string, flags: { alias: string; json: boolean }) =>
      withRegistry(async ({ registry }) => {
        const move = await registry.rollback(name, flags.alias);
        if (flags.json) return printJson(move);
        process.stdout.write(`${name}@${flags.alias}: ${move.from ?? 'none'} -> ${move.to}\n`);
      }),
    );

  registerModelsCheckCommand(models);
  registerModelsRegisterCommand(models);
  registerModelsExportCommand(models);
}
