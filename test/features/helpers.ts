import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { featureSourceOpener } from '../../src/app/feature-sources.js';
import { FeatureRepoStore } from '../../src/features/feature-repo-store.js';
import { type LoadedDefinitions, loadDefinitions } from '../../src/features/load-definitions.js';
import {
  type MaterializeRequest,
  type MaterializeSummary,
  materialize,
} from '../../src/features/materialize.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import type { SqlClient } from '../../src/ports/sql.js';

/** A small valid repository over `projects.csv` (written beside the definition by `writeProjectsCsv`). */
export function projectsRepo(): Record<string, unknown> {
  return {
    entities: [{ name: 'project', joinKeys: ['project_id'] }],
    sources: [{ name: 'projects', kind: 'file', path: 'projects.csv', timestampField: 'created_on' }],
    views: [
      {
        name: 'project_text',
        entities: ['project'],
        source: 'projects',
        ttl: '30d',
        schema: [
          { name: 'title', type: 'string' },
          { name: 'clean', type: 'string' },
          { name: 'title_len', type: 'int64' },
          { name: 'words', type: 'int64' },
          { name: 'stars', type: 'float64' },
        ],
        transform: {
          kind: 'row',
          features: {
            clean: { fn: 'clean_text', args: ['title', 'description'] },
            title_len: { fn: 'length', from: 'title' },
            words: { fn: 'token_count', from: 'description' },
          },
        },
      },
    ],
    services: [{ name: 'tagger', features: ['project_text:clean', 'project_text:stars'] }],
  };
}

export interface ProjectRow {
  project_id: string;
  created_on: string;
  title: string;
  description: string;
  stars: string;
}

function csvLine(fields: readonly string[]): string {
  return fields.map((f) => (/[",\n\r]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(',');
}

export function writeProjectsCsv(dir: string, rows: readonly ProjectRow[], name = 'projects.csv'): string {
  const path = join(dir, name);
  const header = ['project_id', 'created_on', 'title', 'description', 'stars'];
  const lines = [header.join(','), ...rows.map((r) => csvLine(header.map((h) => r[h as keyof ProjectRow])))];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The 1-based line and column of the first occurrence of `needle` in `text` (after `after`, if given). */
export function positionOf(text: string, needle: string, after = ''): { line: number; column: number } {
  const from = after === '' ? 0 : text.indexOf(after);
  const at = text.indexOf(needle, from);
  if (at === -1) throw new Error(`${needle} not in text`);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return { line, column: at - before.lastIndexOf('\n') };
}

// ---- A feature store on a real database, for the domain tests ----

export interface FeatureEnv {
  readonly dir: string;
  readonly sql: SqlClient;
  readonly repoStore: FeatureRepoStore;
  readonly online: SqlOnlineStore;
  /** Writes the repository as features.json in `dir`, loads and applies it. */
  apply(repo: unknown, name?: string): Promise<LoadedDefinitions>;
  materialize(req?: MaterializeRequest, loaded?: LoadedDefinitions): Promise<MaterializeSummary>;
  /** The offline table of a view, sorted, as plain rows. */
  offline(
    view: string,
  ): Promise<
    Array<{ entity_key: string; event_time_ms: number; values_json: string; written_at_ms: number }>
  >;
  close(): Promise<void>;
}

export async function featureEnv(dir: string, sql: SqlClient, dbUrl: string): Promise<FeatureEnv> {
  await sql.init();
  const repoStore = new FeatureRepoStore({ sql });
  await repoStore.init();
  const online = new SqlOnlineStore({ sql });
  await online.init();
  let last: LoadedDefinitions | undefined;
  return {
    dir,
    sql,
    repoStore,
    online,
    async apply(repo, name = 'features.json') {
      const path = join(dir, name);
      if (typeof repo === 'string') writeFileSync(path, repo);
      else writeFileSync(path, JSON.stringify(repo, null, 2));
      last = await loadDefinitions(path);
      await repoStore.apply(repoObjects(last.repo), { file: path, online });
      return last;
    },
    async materialize(req = {}, loaded = last) {
      if (loaded === undefined) throw new Error('apply first');
      return materialize(
        {
          sql,
          online: async () => online,
          loaded,
          applied: await repoStore.appliedRepo(),
          openSource: featureSourceOpener(sql, dbUrl),
        },
        req,
      );
    },
    offline: async (view) =>
      (
        await sql.query<{
          entity_key: string;
          event_time_ms: number;
          values_json: string;
          written_at_ms: number;
        }>(
          'SELECT entity_key, event_time_ms, values_json, written_at_ms FROM ferry_feature_values WHERE view = $1 ORDER BY entity_key, event_time_ms',
          [view],
        )
      ).map((r) => ({
        ...r,
        event_time_ms: Number(r.event_time_ms),
        written_at_ms: Number(r.written_at_ms),
      })),
    close: () => sql.close(),
  };
}

/** Days since 2024-01-01 as ms, for readable times. */
export const day = (n: number, hours = 0): number =>
  Date.UTC(2024, 0, 1) + n * 86_400_000 + hours * 3_600_000;
export const iso = (ms: number): string => new Date(ms).toISOString();
