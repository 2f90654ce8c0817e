import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/duration.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { FeatureViewDef } from '../../features/feature-definitions.js';
import { formatPlan, isDestructive, isEmptyPlan } from '../../features/plan.js';
import { type JsonObject, repoObjects } from '../../features/repo-objects.js';
import { printJson, usageError } from '../output.js';
import { loadRepoFile, withFeatures } from './features-context.js';
import { registerFeaturesDataCommands } from './features-data.js';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function viewLine(v: FeatureViewDef): string {
  const ttl = parseDuration(v.ttl);
  const features = v.schema.map((f) => `${f.name}:${f.type}`).join(', ');
  return `  ${v.name}  [${v.entities.join(', ')}] from ${v.source}, ${v.transform.kind}, ttl ${ttl.ok ? formatDuration(ttl.ms) : String(v.ttl)}${v.online === false ? ', offline only' : ''}\n      ${features}`;
}

export function registerFeaturesCommand(program: Command): void {
  const features = program
    .command('features')
    .description('the feature store: definitions (apply), materialization, training sets, online reads');

  features
    .command('apply')
    .description(
      'validate the feature repository file and apply it: prints the plan (and what it deletes) first',
    )
    .option(
      '--file <path>',
      'the definition file (default: FERRY_FEATURES_FILE, or features.json/.ts/.mjs in the project)',
    )
    .option('--dry-run', 'print the plan, change nothing', false)
    .option('--yes', 'apply a plan that deletes data without asking', false)
    .option('--json', 'JSON output', false)
    .action(async (flags: { file?: string; dryRun: boolean; yes: boolean; json: boolean }) => {
      const loaded = await loadRepoFile(flags.file);
      const objects = repoObjects(loaded.repo);
      await withFeatures(async (ctx) => {
        const plan = await ctx.repoStore.plan(objects);
        if (!flags.json) process.stdout.write(`${loaded.file}\n${formatPlan(plan)}`);
        if (flags.dryRun || isEmptyPlan(plan)) {
          if (flags.json) printJson({ file: loaded.file, applied: false, plan });
          return;
        }
        if (isDestructive(plan) && !flags.yes) {
          if (!process.stdin.isTTY || flags.json) {
            throw usageError('the plan deletes data (see above): rerun with --yes to apply it');
          }
          if (!(await confirm('apply this plan? [y/N] '))) {
            process.stdout.write('nothing applied\n');
            return;
          }
        }
        const needsOnline = plan.invalidations.some((i) => i.online);
        const result = await ctx.repoStore.apply(objects, {
          file: loaded.file,
          basedOn: plan.basedOn,
          ...(needsOnline ? { online: await ctx.online() } : {}),
        });
        if (flags.json) return printJson({ file: loaded.file, applied: true, ...result });
        const deleted = Object.entries(result.offlineDeleted).map(
          ([v, n]) => `${v}: ${n} offline values, ${result.onlineDeleted[v] ?? 0} online rows deleted`,
        );
        process.stdout.write(
          `applied (apply #${result.applyId})${deleted.length ? `\n  ${deleted.join('\n  ')}` : ''}\n`,
        );
      });
    });

  features
    .command('list')
    .description('the applied entities, sources, feature views and services')
    .option('--json', 'JSON output', false)
    .action((flags: { json: boolean }) =>
      withFeatures(async (ctx) => {
        const objects = await ctx.repoStore.applied();
        if (flags.json) return printJson(objects);
        if (objects.length === 0) {
          process.stdout.write('nothing applied yet: write features.json and run `ferry features apply`\n');
          return;
        }
        const { repo } = await ctx.repoStore.appliedRepo();
        const out: string[] = [];
        out.push(`entities (${repo.entities.length})`);
        for (const e of repo.entities) out.push(`  ${e.name}  join keys ${e.joinKeys.join(', ')}`);
        out.push(`sources (${repo.sources.length})`);
        for (const s of repo.sources) {
          const where =
            s.kind === 'file' ? s.path : s.kind === 'sql' ? (s.table ?? 'query') : `stream ${s.stream}`;
          out.push(`  ${s.name}  ${s.kind} ${where}, event time ${s.timestampField}`);
        }
        out.push(`feature views (${repo.views.length})`);
        for (const v of repo.views) out.push(viewLine(v));
        const services = repo.services ?? [];
        out.push(`feature services (${services.length})`);
        for (const s of services) out.push(`  ${s.name}  ${s.features.join(', ')}`);
        const pipelines = repo.pipelines ?? [];
        if (pipelines.length > 0) {
          out.push(`pipelines (${pipelines.length})`);
          for (const p of pipelines) out.push(`  ${p.name}  ${p.source} → ${p.views.join(', ')}`);
        }
        process.stdout.write(`${out.join('\n')}\n`);
      }),
    );

  features
    .command('describe <name>')
    .description(
      'one applied object (entity, source, view, service or pipeline) with its definition and hash',
    )
    .option('--json', 'JSON output', false)
    .action((name: string, flags: { json: boolean }) =>
      withFeatures(async (ctx) => {
        const objects = await ctx.repoStore.applied();
        const found = objects.filter((o) => o.name === name);
        if (found.length === 0) {
          const known = objects.map((o) => `${o.kind} ${o.name}`);
          throw new FerryError(
            ErrorCode.FEATURES_NOT_FOUND,
            `nothing named "${name}" is applied; known: ${known.join(', ') || 'none'}`,
            { details: { name, known } },
          );
        }
        if (flags.json) return printJson(found);
        for (const o of found) {
          process.stdout.write(
            `${o.kind} ${o.name} (${o.hash.slice(0, 12)})\n${JSON.stringify(o.definition as JsonObject, null, 2)}\n`,
          );
        }
      }),
    );

  registerFeaturesDataCommands(features);
}
