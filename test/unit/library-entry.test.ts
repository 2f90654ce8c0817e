import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as library from '../../src/index.js';
import { type BatchEnv, createBatchEnv, generateProjects, MODEL, writeCsv } from '../batch/helpers.js';

/*
 * The package as its users get it: `main` (dist/index.js) exports the library API, and the built
 * code runs on production dependencies only (`npm ci --omit=dev`): no import of a devDependency,
 * tsx included, and the batch job's worker thread starts under plain `node`. Needs `npm run build`
 * (npm test builds before it runs the tests).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};
const DIST = join(ROOT, 'dist');

/** The public API: a change to it is deliberate (update this list and the README). */
const API = [
  'ErrorCode',
  'FerryError',
  'ModelRegistry',
  'OnlineTextClassifier',
  'TextClassifier',
  'bundleCustomModel',
  'checkCustomModel',
  'columnDrift',
  'createDetector',
  'createMeasureReport',
  'createProducer',
  'createServer',
  'datasetDrift',
  'decodeModel',
  'defineFeatures',
  'defineModel',
  'distill',
  'exportTextClassifierOnnx',
  'fineTune',
  'formatModelRef',
  'isFerryError',
  'kindContextOf',
  'loadConfig',
  'loadLabeledDataset',
  'loadModel',
  'loadServingConfig',
  'loadTextModel',
  'onnxFeatureFeeds',
  'openFerry',
  'openOptimize',
  'openPipelineContext',
  'openRegistry',
  'openServing',
  'parseLabeledDataset',
  'parseModelRef',
  'planPipeline',
  'pruneMagnitude',
  'pruneStructured',
  'quantizeTextClassifier',
  'registerArtifact',
  'registerTrained',
  'renderReportSvg',
  'renderReportTable',
  'restoreDetector',
  'runOptimize',
  'runPipeline',
  'textDomainDrift',
  'trainTextClassifier',
];

function* jsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(path);
    else if (entry.name.endsWith('.js')) yield path;
  }
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

describe('the library entry (src/index.ts)', () => {
  it('exports the public API, nothing more', () => {
    expect(Object.keys(library).sort()).toEqual(API);
  });

  it('opens a registry from settings, as a library user would', async () => {
    const env = await createBatchEnv();
    try {
      const ferry = await library.openFerry(env.config);
      try {
        const { model } = await library.loadTextModel(ferry.registry, `${MODEL}@production`);
        const [p] = await model.predict([{ title: 'Transformers', description: 'text classification' }]);
        expect(typeof p?.prediction).toBe('string');
      } finally {
        await ferry.close();
      }
    } finally {
      await env.close();
    }
  });
});

describe('the built package (dist/)', () => {
  beforeAll(() => {
    if (!existsSync(join(DIST, 'cli/index.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
  });

  it('main and types point at the built library entry, which exports the API under plain node', () => {
    expect(pkg.main).toBe('dist/index.js');
    expect(existsSync(join(ROOT, pkg.types))).toBe(true);
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pathToFileURL(join(ROOT, pkg.main)).href)}); console.log(JSON.stringify(Object.keys(m).sort()));`,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(API);
  });

  it('the ./lambda entry (package.json exports) is the built Lambda handler, importable under plain node', () => {
    const exports = (pkg as unknown as { exports: Record<string, { types: string; default: string }> })
      .exports;
    expect(exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    const lambda = exports['./lambda']!;
    expect(existsSync(join(ROOT, lambda.types))).toBe(true);
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        // Importing it loads nothing: the model is loaded at the first invocation or handler.ready().
        `const m = await import(${JSON.stringify(pathToFileURL(join(ROOT, lambda.default)).href)}); console.log(JSON.stringify({ keys: Object.keys(m).sort(), ready: typeof m.handler.ready }));`,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      keys: ['createLambdaHandler', 'handler', 'lambdaOptionsFromEnv', 'openLambdaServing'],
      ready: 'function',
    });
  });

  it('imports only node built-ins and production dependencies (never tsx or another dev tool)', () => {
    const builtins = new Set(builtinModules);
    const bad: string[] = [];
    for (const file of jsFiles(DIST)) {
      const text = readFileSync(file, 'utf8');
      // Static imports and re-exports start a line in tsc's output; dynamic ones are calls.
      const statics = text.matchAll(
        /^(?:(?:import|export)\b[^;]*?\bfrom\s*|import\s*)['"]([^'"\n]+)['"];$/gm,
      );
      const calls = text.matchAll(/\b(?:import|require)\(\s*['"]([^'"\n]+)['"]\s*\)/g);
      for (const m of [...statics, ...calls]) {
        const spec = m[1]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        if (!(packageOf(spec) in pkg.dependencies)) bad.push(`${file.slice(DIST.length + 1)}: ${spec}`);
      }
      // One exception: a features.ts definition file is loaded through tsx when the user has it
      // installed (a variable specifier, imported on demand; without tsx the message says so).
      const optionalTsx = file.endsWith(`${sep}features${sep}load-definitions.js`);
      if (/\btsx\b/.test(text) && !optionalTsx) bad.push(`${file.slice(DIST.length + 1)}: mentions tsx`);
    }
    expect(bad).toEqual([]);
  });

  describe('batch predict in a worker thread under plain node', () => {
    let env: BatchEnv;
    beforeAll(async () => {
      env = await createBatchEnv();
    });
    afterAll(async () => {
      await env?.close();
    });

    it('predicts every row with no loader registered', () => {
      const input = writeCsv(join(env.home, 'in.csv'), generateProjects(300));
      const r = spawnSync(
        process.execPath,
        [
          join(ROOT, pkg.bin.ferry!),
          'batch',
          'predict',
          '--model',
          `${MODEL}@production`,
          '--input-loc',
          input,
          '--json',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
          // execArgv and NODE_OPTIONS of this test process (tsx) must not reach the child.
          env: { ...process.env, ...env.env, NODE_OPTIONS: '' },
          timeout: 120_000,
        },
      );
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.status).toBe(0);
      const summary = JSON.parse(r.stdout) as { rows: number; predicted: number; rejects: number };
      expect(summary).toMatchObject({ rows: 300, predicted: 300, rejects: 0 });
    });
  });
});
