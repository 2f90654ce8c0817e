import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

export function csvLine(fields: readonly string[]): string {
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
