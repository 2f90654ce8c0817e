import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DefinitionProblem } from '../../src/features/definition-checks.js';
import { loadDefinitions, resolveDefinitionFile } from '../../src/features/load-definitions.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { positionOf, projectsRepo, writeProjectsCsv } from './helpers.js';

const dir = tmpDir('ferry-features-load-');
beforeAll(() => {
  writeProjectsCsv(dir.path, [
    { project_id: '1', created_on: '2024-01-01T00:00:00Z', title: 'A', description: 'b', stars: '1' },
  ]);
});
afterAll(() => dir.remove());

function write(name: string, content: unknown): string {
  const path = join(dir.path, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

async function problemsOf(path: string): Promise<DefinitionProblem[]> {
  const e = await expectFerryError(loadDefinitions(path), 'FERRY_FEATURES_INVALID', 400);
  return e.details.problems as DefinitionProblem[];
}

describe('loadDefinitions: features.json', () => {
  it('loads a valid repository', async () => {
    const loaded = await loadDefinitions(write('ok.json', projectsRepo()));
    expect(loaded.format).toBe('json');
    expect(loaded.repo.views[0]!.name).toBe('project_text');
    expect(loaded.baseDir).toBe(dir.path);
  });

  it('reports every problem at once, each with its field path, line and column', async () => {
    const repo = projectsRepo() as {
      entities: unknown[];
      sources: unknown[];
      views: unknown[];
      services: unknown[];
    };
    repo.entities.push({ name: 'project', joinKeys: ['other'] }); // duplicate entity
    repo.sources.push({ name: 'missing', kind: 'file', path: 'nope.csv', timestampField: 'ts' });
    repo.views.push(
      {
        name: 'bad_types',
        entities: ['project', 'ghost'],
        source: 'nowhere',
        ttl: '7d',
        schema: [
          { name: 'a', type: 'integer' },
          { name: 'a', type: 'string' },
        ],
        transform: { kind: 'row', features: { a: { fn: 'length', from: 'x' }, b: { from: 'y' } } },
      },
      {
        name: 'zero_ttl',
        entities: ['project'],
        source: 'projects',
        ttl: 0,
        schema: [{ name: 'n', type: 'int64' }],
        transform: { kind: 'window', window: { type: 'tumbling', size: '1h' }, aggregations: [] },
      },
      {
        name: 'windows',
        entities: ['project'],
        source: 'projects',
        ttl: 'soon',
        schema: [
          { name: 'n', type: 'string' },
          { name: 'tops', type: 'string_list' },
          { name: 'orphan', type: 'float64' },
        ],
        transform: {
          kind: 'window',
          window: { type: 'hopping', size: '1h', hop: '2h' },
          aggregations: [
            { name: 'n', fn: 'count' },
            { name: 'tops', fn: 'top_k', field: 'tag', k: 0 },
            { name: 'elsewhere', fn: 'sum', field: 'x' },
          ],
        },
      },
      {
        name: 'project_text',
        entities: ['project'],
        source: 'projects',
        ttl: '-1h',
        schema: [{ name: 'x', type: 'string' }],
        transform: { kind: 'row' },
      },
    );
    repo.services.push({ name: 'tagger', features: ['project_text:nope', 'ghost_view'] });
    const path = write('bad.json', repo);
    const text = JSON.stringify(repo, null, 2);
    const problems = await problemsOf(path);
    const byPath = (p: string) => problems.filter((x) => x.path === p).map((x) => x.message);

    // The example of the brief: the TTL of the third view (views[2]) is 0.
    const ttl = problems.find((p) => p.path === 'views[2].ttl')!;
    expect(ttl.message).toBe('a TTL of 0 is not allowed');
    expect({ line: ttl.line, column: ttl.column }).toEqual(positionOf(text, '0', '"name": "zero_ttl"'));

    expect(byPath('entities[1].name')).toEqual([expect.stringMatching(/duplicate entity name "project"/)]);
    expect(byPath('sources[1].path')).toEqual([expect.stringMatching(/nope\.csv does not exist/)]);
    expect(byPath('views[1].entities[1]')).toEqual([
      expect.stringMatching(/unknown entity "ghost"; known: "project"/),
    ]);
    expect(byPath('views[1].source')).toEqual([expect.stringMatching(/unknown source "nowhere"/)]);
    expect(byPath('views[1].schema[0].type')).toEqual([
      expect.stringMatching(/unknown feature type "integer"/),
    ]);
    expect(byPath('views[1].schema[1].name')).toEqual([expect.stringMatching(/duplicate feature name "a"/)]);
    expect(byPath('views[1].transform.features.b')).toEqual([expect.stringMatching(/unknown field "b"/)]);
    expect(byPath('views[2].transform.aggregations')).toEqual([
      'a window view needs at least one aggregation',
    ]);
    expect(byPath('views[3].ttl')).toEqual([expect.stringMatching(/"soon" is not a duration/)]);
    expect(byPath('views[3].transform.window.hop')).toEqual([
      expect.stringMatching(/hop must not be longer/),
    ]);
    expect(byPath('views[3].transform.aggregations[0].fn')).toEqual([
      expect.stringMatching(/count produces int64, but "n" is declared string/),
    ]);
    expect(byPath('views[3].transform.aggregations[1].k')).toEqual([
      expect.stringMatching(/0 is out of range: expected 1 to 1000/),
    ]);
    expect(byPath('views[3].transform.aggregations[2].name')).toEqual([
      `the aggregation's output "elsewhere" is not in the view's schema`,
    ]);
    expect(byPath('views[3].transform.aggregations')).toEqual([
      `the schema's feature "orphan" has no aggregation`,
    ]);
    expect(byPath('views[4].name')).toEqual([expect.stringMatching(/duplicate view name "project_text"/)]);
    expect(byPath('views[4].ttl')).toEqual(['a TTL must not be negative']);
    expect(byPath('services[1].name')).toEqual([expect.stringMatching(/duplicate service name "tagger"/)]);
    expect(byPath('services[1].features[0]')).toEqual([expect.stringMatching(/has no feature "nope"/)]);
    expect(byPath('services[1].features[1]')).toEqual([
      expect.stringMatching(/unknown feature view "ghost_view"/),
    ]);
    // A function with the wrong output type for the feature's declared type (a is declared "integer",
    // unknown, so no type error there); every problem is placed in the file.
    for (const p of problems) expect(p.line, p.path).toBeGreaterThan(0);
  });

  it('places a missing field at its object, and the message names file:line:column', async () => {
    const repo = projectsRepo() as { views: Array<Record<string, unknown>> };
    delete repo.views[0]!.ttl;
    const path = write('missing.json', repo);
    const e = await expectFerryError(loadDefinitions(path), 'FERRY_FEATURES_INVALID');
    const [p] = e.details.problems as DefinitionProblem[];
    expect(p).toMatchObject({ path: 'views[0].ttl', message: '"ttl" is required' });
    expect({ line: p!.line, column: p!.column }).toEqual(
      positionOf(JSON.stringify(repo, null, 2), '{', '"views"'),
    );
    expect(e.message).toContain(`missing.json:${p!.line}:${p!.column}: views[0].ttl: "ttl" is required`);
  });

  it('refuses a row function whose output does not fit the declared type', async () => {
    const repo = projectsRepo() as {
      views: Array<{ schema: unknown[]; transform: { features: Record<string, unknown> } }>;
    };
    repo.views[0]!.transform.features.title = { fn: 'token_count', from: 'title' };
    const problems = await problemsOf(write('fn-type.json', repo));
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      [
        'views[0].transform.features.title.fn',
        'token_count produces int64 or float64, but the feature is declared string',
      ],
    ]);
  });

  it('reports JSON syntax errors and duplicate keys with their line and column', async () => {
    let problems = await problemsOf(write('syntax.json', '{\n  "entities": [],\n  "sources": [,]\n}'));
    expect(problems[0]).toMatchObject({ line: 3, column: 15 });
    expect(problems[0]!.message).toMatch(/not valid JSON: unexpected character/);
    problems = await problemsOf(write('dup.json', '{\n  "entities": [],\n  "entities": []\n}'));
    expect(problems[0]).toMatchObject({
      line: 3,
      column: 3,
      message: 'not valid JSON: the key "entities" appears twice in one object',
    });
  });

  it('refuses a map function in JSON and unknown top-level fields', async () => {
    const repo = projectsRepo() as { views: Array<{ transform: unknown }>; extra?: unknown };
    repo.views[0]!.transform = { kind: 'row', map: 'row => row' };
    repo.extra = 1;
    const problems = await problemsOf(write('map.json', repo));
    expect(problems.map((p) => p.path).sort()).toEqual(['extra', 'views[0].transform.map']);
  });
});

describe('loadDefinitions: modules', () => {
  const moduleText = (
    ext: string,
  ) => `${ext === 'ts' ? "import type {} from 'node:fs';\nconst ttl: string = '30d';" : "const ttl = '30d';"}
export default {
  entities: [{ name: 'project', joinKeys: ['project_id'] }],
  sources: [{ name: 'projects', kind: 'file', path: 'projects.csv', timestampField: 'created_on' }],
  views: [{
    name: 'v', entities: ['project'], source: 'projects', ttl,
    schema: [{ name: 'upper', type: 'string' }],
    transform: { kind: 'row', map: (row) => ({ upper: String(row.title).toUpperCase() }) },
  }],
};
`;

  it('imports an .mjs default export with a map function', async () => {
    const loaded = await loadDefinitions(write('repo.mjs', moduleText('mjs')));
    expect(loaded.format).toBe('module');
    const t = loaded.repo.views[0]!.transform;
    expect(t.kind === 'row' && t.map?.({ title: 'ab' })).toEqual({ upper: 'AB' });
  });

  it('imports a .ts file through tsx', async () => {
    const loaded = await loadDefinitions(
      write('repo.ts', moduleText('ts').replace('(row)', '(row: Record<string, unknown>)')),
    );
    expect(loaded.repo.views[0]!.ttl).toBe('30d');
  });

  it('validates a module as JSON is validated (no line numbers), and reports a missing default export', async () => {
    const problems = await problemsOf(write('bad.mjs', moduleText('mjs').replace('ttl,', 'ttl: 0,')));
    expect(problems).toEqual([{ path: 'views[0].ttl', message: 'a TTL of 0 is not allowed' }]);
    const e = await expectFerryError(
      loadDefinitions(write('nodefault.mjs', 'export const x = 1;\n')),
      'FERRY_FEATURES_INVALID',
    );
    expect(e.message).toMatch(/has no default export/);
    const thrown = await expectFerryError(
      loadDefinitions(write('throws.mjs', 'throw new Error("boom");\n')),
      'FERRY_FEATURES_INVALID',
    );
    expect(thrown.message).toMatch(/does not load: boom/);
  });
});

describe('resolveDefinitionFile', () => {
  it('finds the one default file, refuses none or two', () => {
    const project = tmpDir('ferry-features-project-');
    try {
      expect(() => resolveDefinitionFile(project.path, undefined)).toThrow(/no feature repository file/);
      writeFileSync(join(project.path, 'features.json'), '{}');
      expect(resolveDefinitionFile(project.path, undefined)).toBe(join(project.path, 'features.json'));
      writeFileSync(join(project.path, 'features.mjs'), 'export default {}');
      expect(() => resolveDefinitionFile(project.path, undefined)).toThrow(/features.json and features.mjs/);
      expect(resolveDefinitionFile(project.path, join(project.path, 'features.mjs'))).toBe(
        join(project.path, 'features.mjs'),
      );
    } finally {
      project.remove();
    }
  });
});
