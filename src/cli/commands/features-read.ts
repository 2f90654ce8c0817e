import type { Command } from 'commander';
import { DEFAULT_TIMESTAMP_COLUMN, trainingSetFromFiles } from '../../app/training-set-files.js';
import { readOnlineFeatures } from '../../features/online-read.js';
import { printJson, usageError } from '../output.js';
import { validateOutputPath } from '../output-path.js';
import { withFeatures } from './features-context.js';

function list(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--entity project_id=42` (repeatable; `a=1,b=2` for an entity with two join keys) as columns. */
function entityColumns(entities: readonly string[]): Record<string, string[]> {
  const columns: Record<string, string[]> = {};
  entities.forEach((text, i) => {
    const pairs = text.split(',').map((p) => p.trim());
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw usageError(`--entity ${JSON.stringify(text)}: expected join_key=value`);
      const key = pair.slice(0, eq).trim();
      const column = columns[key] ?? [];
      if (column.length !== i)
        throw usageError(`--entity ${JSON.stringify(text)}: every --entity must give the same join keys`);
      column.push(pair.slice(eq + 1));
      columns[key] = column;
    }
  });
  for (const [key, column] of Object.entries(columns)) {
    if (column.length !== entities.length)
      throw usageError(`the join key ${key} is missing from some --entity`);
  }
  return columns;
}

function selection(flags: { service?: string; features?: string }): {
  service?: string;
  features?: string[];
} {
  if ((flags.service === undefined) === (flags.features === undefined)) {
    throw usageError('give --service <name> or --features view:feature,...');
  }
  return flags.service !== undefined ? { service: flags.service } : { features: list(flags.features) ?? [] };
}

/** `training-set` and `get`: reading feature values back. */
export function registerFeaturesReadCommands(features: Command): void {
  features
    .command('training-set')
    .description(
      'point-in-time join: each entity row gets each feature as it was at its timestamp (never a later value), within the view TTL',
    )
    .requiredOption(
      '--entities <path>',
      'entity rows: CSV or JSON lines with the join keys and a timestamp column',
    )
    .requiredOption(
      '--out <path>',
      'output: .csv, or .jsonl/.ndjson (rows in input order, features appended)',
    )
    .option('--service <name>', 'the features of a feature service')
    .option('--features <refs>', 'comma-separated view:feature (or view: all its features)')
    .option('--timestamp-column <name>', 'the timestamp column of the entity rows', DEFAULT_TIMESTAMP_COLUMN)
    .option('--json', 'JSON output', false)
    .action(
      async (flags: {
        entities: string;
        out: string;
        service?: string;
        features?: string;
        timestampColumn: string;
        json: boolean;
      }) => {
        const picked = selection(flags);
        await validateOutputPath(flags.out, { flag: '--out', inputs: [flags.entities] });
        await withFeatures(async (ctx) => {
          const { repo } = await ctx.repoStore.appliedRepo();
          const summary = await trainingSetFromFiles(ctx.sql, repo, {
            entities: flags.entities,
            out: flags.out,
            timestampColumn: flags.timestampColumn,
            ...picked,
          });
          if (flags.json) return printJson(summary);
          const n = (x: number) => x.toLocaleString('en-US');
          const found = Object.entries(summary.found)
            .map(([name, count]) => `${name} ${n(count)}`)
            .join(', ');
          process.stdout.write(
            `${summary.out}: ${n(summary.rows)} rows, ${summary.features.length} features (with a value: ${found}) in ${summary.seconds.toFixed(1)} s\n`,
          );
        });
      },
    );

  features
    .command('get')
    .description(
      'online feature values of entities, with their status (PRESENT, EXPIRED, NOT_FOUND) and event time',
    )
    .option('--service <name>', 'the features of a feature service')
    .option('--features <refs>', 'comma-separated view:feature (or view: all its features)')
    .option(
      '--entity <key=value>',
      'an entity (repeat for several; a=1,b=2 for several join keys)',
      collect,
      [],
    )
    .option('--json', 'JSON output', false)
    .action(async (flags: { service?: string; features?: string; entity: string[]; json: boolean }) => {
      const picked = selection(flags);
      if (flags.entity.length === 0) throw usageError('give at least one --entity join_key=value');
      const entities = entityColumns(flags.entity);
      await withFeatures(async (ctx) => {
        const applied = await ctx.repoStore.appliedRepo();
        const response = await readOnlineFeatures(
          applied,
          await ctx.online(),
          { ...picked, entities },
          Date.now(),
        );
        if (flags.json) return printJson(response);
        const out: string[] = [];
        for (const r of response.results) {
          out.push(
            Object.entries(r.entity)
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
          );
          for (const [name, f] of Object.entries(r.features)) {
            const value = f.status === 'PRESENT' ? JSON.stringify(f.value) : '-';
            out.push(`  ${name} = ${value}  (${f.status}${f.eventTime ? `, ${f.eventTime}` : ''})`);
          }
        }
        process.stdout.write(`${out.join('\n')}\n`);
      });
    });
}
