import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The folder dependency rule of docs/architecture.md, checked on every relative import in src/:
 * domain folders depend on ports/ and on folders below them, never on adapters/ or on the wiring.
 */
const SRC = resolve(import.meta.dirname, '../../src');

/** What a package entry point (the library's index.ts, the Lambda handler) may import: all but cli/. */
const ENTRY_POINT: readonly string[] = [
  'core',
  'ports',
  'model',
  'registry',
  'train',
  'batch',
  'experiments',
  'serving',
  'features',
  'streams',
  'monitoring',
  'learning',
  'optimize',
  'adapters',
  'app',
];

/** Which top-level folders of src/ each folder may import from (itself always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['ports'],
  ports: ['core'],
  model: ['core', 'ports'],
  registry: ['core', 'ports', 'model'],
  train: ['core', 'ports', 'model', 'registry'],
  batch: ['core', 'ports', 'model', 'registry'],
  experiments: ['core', 'ports', 'model', 'registry'],
  serving: ['core', 'ports', 'model', 'registry', 'features', 'monitoring'],
  monitoring: ['core', 'ports', 'model', 'registry', 'train'],
  learning: ['core', 'ports', 'model', 'registry', 'train', 'monitoring'],
  features: ['core', 'ports', 'model'],
  optimize: ['core', 'ports', 'model', 'registry', 'train'],
  streams: ['core', 'ports', 'model', 'registry', 'features'],
  // Renderers of deployment files: pure functions of checked flags (issue 14).
  deploy: ['core', 'registry'],
  adapters: ['core', 'ports'],
  app: [
    'core',
    'ports',
    'model',
    'registry',
    'train',
    'batch',
    'experiments',
    'serving',
    'features',
    'streams',
    'monitoring',
    'learning',
    'optimize',
    'adapters',
  ],
  cli: [
    'core',
    'ports',
    'model',
    'registry',
    'train',
    'batch',
    'experiments',
    'serving',
    'features',
    'streams',
    'monitoring',
    'learning',
    'optimize',
    'deploy',
    'app',
  ],
  // The library entry (package.json "main") re-exports the public API, the wiring's openers included.
  'index.ts': ENTRY_POINT,
  // The Lambda handler (package.json exports ./lambda): an entry point like index.ts.
  lambda: ENTRY_POINT,
};

/**
 * Imports that break the rule, each to be removed by the change that fixes it. Empty since issue 9
 * (the wiring moved to app/, serving and experiments meet through ports/): keep it so. The test
 * fails on any import not listed here, and on a listed one that no longer exists.
 */
const KNOWN_VIOLATIONS: readonly string[] = [];

function* tsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

function topFolder(path: string): string {
  return relative(SRC, path).split('/')[0]!;
}

function violations(): string[] {
  const out = new Set<string>();
  for (const file of tsFiles(SRC)) {
    const from = topFolder(file);
    const allowed = ALLOWED[from];
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = topFolder(resolve(dirname(file), m[1]!));
      if (to === from) continue;
      if (allowed === undefined || !allowed.includes(to)) out.add(`${relative(SRC, file)} -> ${to}`);
    }
  }
  return [...out].sort();
}

describe('folder dependencies (docs/architecture.md)', () => {
  const found = violations();

  it('every top-level folder of src/ has a rule', () => {
    const folders = readdirSync(SRC);
    expect(folders.filter((f) => ALLOWED[f] === undefined)).toEqual([]);
  });

  it('no import breaks the rule beyond the known, listed exceptions', () => {
    expect(found.filter((v) => !KNOWN_VIOLATIONS.includes(v))).toEqual([]);
  });

  it('every listed exception still exists (remove it from the list once fixed)', () => {
    expect(KNOWN_VIOLATIONS.filter((v) => !found.includes(v))).toEqual([]);
  });
});
