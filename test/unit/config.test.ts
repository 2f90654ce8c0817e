import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRegistry, findProjectDir, loadConfig } from '../../src/core/config.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const dir = tmpDir('ferry-config-');
afterAll(() => dir.remove());

describe('where the registry is (FERRY_HOME default)', () => {
  const project = join(dir.path, 'project');
  const docs = join(project, 'docs', 'deep');
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(project, 'package.json'), '{}');

  it('walks up from a subdirectory to the nearest directory with package.json', () => {
    expect(findProjectDir(docs)).toBe(project);
    expect(loadConfig({}, {}, docs).home).toBe(join(project, '.ferry'));
    expect(loadConfig({}, {}, docs).db).toBe(`sqlite:${join(project, '.ferry', 'ferry.db')}`);
  });

  it('stops at a nearer .ferry (a registry made there on purpose)', () => {
    const nested = join(project, 'docs');
    mkdirSync(join(nested, '.ferry'), { recursive: true });
    expect(findProjectDir(docs)).toBe(nested);
  });

  it('uses the directory itself when no parent has either', () => {
    // The temporary root's parents (/tmp, /) have no package.json or .ferry on a clean machine;
    // if they had, the walk would rightly stop there, so only assert what the rule implies.
    const lone = join(dir.path, 'lone');
    mkdirSync(lone);
    const found = findProjectDir(lone);
    expect(found === lone || lone.startsWith(`${found}/`)).toBe(true);
  });

  it('FERRY_HOME still wins', () => {
    expect(loadConfig({ FERRY_HOME: '/srv/ferry-home' }, {}, docs).home).toBe('/srv/ferry-home');
  });

  it('describes a PostgreSQL registry without credentials or query', () => {
    expect(describeRegistry({ db: 'postgres://user:secret@db:5432/ferry?schema=x' })).toBe(
      'postgres://db:5432/ferry',
    );
  });
});
