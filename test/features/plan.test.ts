import { describe, expect, it } from 'vitest';
import type { FeatureRepoDef } from '../../src/features/feature-definitions.js';
import { formatPlan, isDestructive, planApply } from '../../src/features/plan.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { projectsRepo } from './helpers.js';

type Mutable = {
  entities: Array<Record<string, unknown>>;
  sources: Array<Record<string, unknown>>;
  views: Array<Record<string, unknown>>;
  services: Array<Record<string, unknown>>;
};

function repo(edit: (r: Mutable) => void = () => {}): FeatureRepoDef {
  const r = projectsRepo() as Mutable;
  // A second view on the same source and entity, to see what a change reaches.
  r.views.push({
    name: 'project_stars',
    entities: ['project'],
    source: 'projects',
    ttl: '7d',
    schema: [{ name: 'stars', type: 'float64' }],
    transform: { kind: 'row' },
  });
  edit(r);
  return r as unknown as FeatureRepoDef;
}

const plan = (before: FeatureRepoDef, after: FeatureRepoDef) =>
  planApply(repoObjects(after), repoObjects(before));

describe('planApply', () => {
  it('adds everything to an empty repository and invalidates nothing', () => {
    const p = planApply(repoObjects(repo()), []);
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      'add entity project',
      'add source projects',
      'add view project_text',
      'add view project_stars',
      'add service tagger',
    ]);
    expect(p.invalidations).toEqual([]);
    expect(isDestructive(p)).toBe(false);
  });

  it('sees no change in the same repository, whatever the key order', () => {
    const reordered = JSON.parse(JSON.stringify(repo()), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as FeatureRepoDef;
    const p = plan(repo(), reordered);
    expect(p.changes).toEqual([]);
    expect(p.unchanged).toBe(5);
    expect(formatPlan(p)).toBe('no changes (5 objects up to date)\n');
  });

  it('a changed TTL or description invalidates nothing', () => {
    const p = plan(
      repo(),
      repo((r) => {
        r.views[0]!.ttl = '60d';
        r.views[1]!.description = 'stars';
        r.services[0]!.features = ['project_text'];
      }),
    );
    expect(p.changes.map((c) => [c.name, c.fields])).toEqual([
      ['project_text', ['ttl']],
      ['project_stars', ['description']],
      ['tagger', ['features']],
    ]);
    expect(p.invalidations).toEqual([]);
  });

  it("a changed transform or schema invalidates the view's offline values and online rows", () => {
    const p = plan(
      repo(),
      repo((r) => {
        (r.views[0]!.transform as { features: Record<string, unknown> }).features.words = {
          fn: 'token_count',
          from: 'title',
        };
      }),
    );
    expect(p.invalidations).toEqual([
      { view: 'project_text', offline: true, online: true, reasons: ['its transform changed'] },
    ]);
    expect(formatPlan(p)).toContain(
      '! view project_text: offline values, online rows, materialization progress (its transform changed)',
    );
  });

  it('a removed view is invalidated; a view going offline loses its online rows only', () => {
    const p = plan(
      repo(),
      repo((r) => {
        r.views.splice(1, 1);
        r.views[0]!.online = false;
      }),
    );
    expect(p.changes.map((c) => `${c.action} ${c.name}`)).toEqual([
      'change project_text',
      'remove project_stars',
    ]);
    expect(p.invalidations).toEqual([
      { view: 'project_stars', offline: true, online: true, reasons: ['it is removed'] },
      { view: 'project_text', offline: false, online: true, reasons: ['it is no longer online'] },
    ]);
    expect(isDestructive(p)).toBe(true);
  });

  it("a source's data change reaches every view reading it; an entity's join keys every view keyed by it", () => {
    let p = plan(
      repo(),
      repo((r) => {
        r.sources[0]!.timestampField = 'updated_on';
      }),
    );
    expect(p.invalidations.map((i) => [i.view, i.reasons])).toEqual([
      ['project_stars', ['its source "projects" changed (timestampField)']],
      ['project_text', ['its source "projects" changed (timestampField)']],
    ]);
    p = plan(
      repo(),
      repo((r) => {
        r.sources[0]!.description = 'the projects';
      }),
    );
    expect(p.invalidations).toEqual([]);
    p = plan(
      repo(),
      repo((r) => {
        r.entities[0]!.joinKeys = ['id'];
      }),
    );
    expect(p.invalidations.map((i) => i.view)).toEqual(['project_stars', 'project_text']);
  });

  it('a changed TypeScript map function changes the view', () => {
    const withMap = (fn: (row: Record<string, unknown>) => Record<string, string>) =>
      repo((r) => {
        r.views[1]!.transform = { kind: 'row', map: fn };
      });
    const p = plan(
      withMap((row) => ({ stars: String(row.stars) })),
      withMap((row) => ({ stars: String(row.stars).trim() })),
    );
    expect(p.invalidations.map((i) => i.view)).toEqual(['project_stars']);
  });
});
