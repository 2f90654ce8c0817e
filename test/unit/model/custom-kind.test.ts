import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { sha256Hex } from '../../../src/core/hash.js';
import { defineModel } from '../../../src/index.js';
import { bundleCustomModel } from '../../../src/model/kinds/custom/bundle.js';
import { checkCustomModel } from '../../../src/model/kinds/custom/check-model.js';
import { modelKind } from '../../../src/model/kinds/index.js';
import type { KindContext } from '../../../src/model/kinds/model-kind.js';
import type { NamedTensors } from '../../../src/model/tensor.js';
import { expectFerryError, expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/custom-models');
const EXAMPLE = join(ROOT, 'examples/custom-model');

const kind = modelKind('custom');
let tmp: { path: string; remove: () => Promise<void> };
let ctx: KindContext;

beforeAll(async () => {
  tmp = await makeTmpDir('ferry-custom-');
  ctx = { cacheDir: join(tmp.path, 'cache'), callTimeoutMs: 2_000 };
});
afterAll(() => tmp.remove());

const X: NamedTensors = { x: { datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] } };

async function openFixture(name: string, timeoutMs = ctx.callTimeoutMs) {
  const artifact = await bundleCustomModel(join(FIXTURES, name));
  return kind.open(artifact, { ...ctx, callTimeoutMs: timeoutMs, sha256: sha256Hex(artifact) });
}

/** A bundle document written by hand, as an attacker could store one. */
function craftedBundle(files: Record<string, string>, entry = 'model.mjs'): Uint8Array {
  const encoded = Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  return new TextEncoder().encode(
    JSON.stringify({ format: 'ferry-custom-model', formatVersion: 1, entry, files: encoded }),
  );
}

describe('the custom model kind', () => {
  it('bundles a directory, unpacks it under the cache by content, imports it and predicts', async () => {
    const artifact = await bundleCustomModel(EXAMPLE);
    const doc = JSON.parse(new TextDecoder().decode(artifact));
    expect(doc).toMatchObject({ format: 'ferry-custom-model', formatVersion: 1, entry: 'model.mjs' });
    expect(Object.keys(doc.files).sort()).toEqual(['README.md', 'model.mjs', 'weights.json']);

    const sha256 = sha256Hex(artifact);
    const model = await kind.open(artifact, { ...ctx, sha256 });
    const dir = join(ctx.cacheDir, 'custom', sha256);
    expect((await readdir(dir)).sort()).toEqual(['README.md', 'model.mjs', 'weights.json']);
    expect(model.kind).toBe('custom');
    expect(model.classes).toEqual(['ham', 'spam']);
    const out = await model.infer({
      features: { datatype: 'FP64', shape: [2, 3], data: [0, 0, 0, 5, 5, 1] },
    });
    expect(out.label).toEqual({ datatype: 'BYTES', shape: [2], data: ['ham', 'spam'] });
    const p = out.probabilities!.data as number[];
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(1.2)), 12);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
    await model.close?.();

    // A second open reuses the directory (a marker written into it survives) and leaves no temp dir.
    await writeFile(join(dir, 'marker'), 'x');
    const again = await kind.open(artifact, { ...ctx, sha256 });
    await again.close?.();
    expect(await readFile(join(dir, 'marker'), 'utf8')).toBe('x');
    expect((await readdir(join(ctx.cacheDir, 'custom'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('two opens of a new bundle at once both succeed and leave one directory', async () => {
    const artifact = craftedBundle({
      'model.mjs':
        "import { defineModel } from 'ferry';\nexport default defineModel({ signature: { inputs: [{ name: 'x', datatype: 'INT8', shape: [-1] }], outputs: [{ name: 'x', datatype: 'INT8', shape: [-1] }] }, load: () => ({ predictBatch: (i) => i }) });\n",
    });
    const models = await Promise.all([1, 2, 3].map(() => kind.open(artifact, { ...ctx, sha256: '' })));
    const x: NamedTensors = { x: { datatype: 'INT8', shape: [1], data: [7] } };
    for (const m of models) expect(await m.infer(x)).toEqual(x);
    const entries = await readdir(join(ctx.cacheDir, 'custom'));
    expect(entries.filter((n) => n === sha256Hex(artifact))).toHaveLength(1);
    expect(entries.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('inspect returns the module signature and refuses an override that differs', async () => {
    const artifact = await bundleCustomModel(EXAMPLE);
    const inspected = await kind.inspect(artifact, ctx);
    expect(inspected.signature.inputs).toEqual([
      {
        name: 'features',
        datatype: 'FP64',
        shape: [-1, 3],
        description: 'links, exclamations, capitals_ratio',
      },
    ]);
    expect(inspected.details).toEqual({ classes: ['ham', 'spam'] });
    expect((await kind.inspect(artifact, ctx, inspected.signature)).signature).toEqual(inspected.signature);
    const other = { ...inspected.signature, outputs: inspected.signature.outputs.slice(0, 1) };
    await expectFerryError(kind.inspect(artifact, ctx, other), ErrorCode.MODEL_INVALID_SIGNATURE);
    await expectFerryError(
      kind.open(artifact, { ...ctx, sha256: '', signature: other }),
      ErrorCode.MODEL_INVALID_SIGNATURE,
    );
  });

  it('a throw in load is MODEL_LOAD_FAILED with the author message, no stack, no cache path', async () => {
    const e = await expectFerryError(openFixture('throws-at-load.mjs'), ErrorCode.MODEL_LOAD_FAILED);
    expect(e.message).toBe('custom model throws-at-load.mjs: load(dir) failed: weights.bin is missing');
    expect(e.message).not.toContain(ctx.cacheDir);
  });

  it('an import that fails names the missing file relative to the module, not the cache', async () => {
    const artifact = craftedBundle({ 'model.mjs': "import './missing.mjs';\nexport default 1;\n" });
    const e = await expectFerryError(
      kind.open(artifact, { ...ctx, sha256: '' }),
      ErrorCode.MODEL_LOAD_FAILED,
    );
    expect(e.message).toContain('the module failed to import');
    expect(e.message).toContain('missing.mjs');
    expect(e.message).not.toContain(ctx.cacheDir);
  });

  it('a module whose default export is not defineModel(...) is MODEL_LOAD_FAILED', async () => {
    const e = await expectFerryError(openFixture('not-defined.mjs'), ErrorCode.MODEL_LOAD_FAILED);
    expect(e.message).toContain('module does not export default defineModel(...)');
  });

  it('a module with a bad signature is MODEL_INVALID_SIGNATURE', async () => {
    await expectFerryError(openFixture('bad-signature.mjs'), ErrorCode.MODEL_INVALID_SIGNATURE);
  });

  it('a throw in predictBatch is MODEL_PREDICT_FAILED with its message', async () => {
    const model = await openFixture('throws-at-predict.mjs');
    const e = await expectFerryError(model.infer(X), ErrorCode.MODEL_PREDICT_FAILED, 502);
    expect(e.message).toContain('division by zero in layer 3');
  });

  it('an output of the wrong shape is MODEL_PREDICT_FAILED naming the tensor', async () => {
    const model = await openFixture('wrong-output-shape.mjs');
    const e = await expectFerryError(model.infer(X), ErrorCode.MODEL_PREDICT_FAILED);
    expect(e.message).toContain('"y" has shape [2,2], the signature says [-1,1]');
    expect(e.details).toEqual({ tensor: 'y' });
  });

  it('a predictBatch that never returns is MODEL_TIMEOUT within the timeout', async () => {
    const model = await openFixture('never-returns.mjs', 200);
    const started = Date.now();
    const e = await expectFerryError(model.infer(X), ErrorCode.MODEL_TIMEOUT, 504);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(e.message).toContain('200 ms');
  });

  it('a load that never returns is MODEL_TIMEOUT', async () => {
    const artifact = craftedBundle({
      'model.mjs':
        "import { defineModel } from 'ferry';\nexport default defineModel({ signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] }, load: () => new Promise(() => {}) });\n",
    });
    await expectFerryError(
      kind.open(artifact, { ...ctx, callTimeoutMs: 150, sha256: '' }),
      ErrorCode.MODEL_TIMEOUT,
    );
  });

  it('refuses bundles whose paths leave the directory', async () => {
    for (const path of [
      '../evil.mjs',
      'a/../../evil.mjs',
      '/etc/evil.mjs',
      'a\\..\\evil.mjs',
      '.hidden.mjs',
    ]) {
      const artifact = craftedBundle({ 'model.mjs': 'export default 1;', [path]: 'x' });
      await expectFerryError(kind.open(artifact, { ...ctx, sha256: '' }), ErrorCode.MODEL_INVALID_ARTIFACT);
    }
    // Nothing was written outside the cache.
    expect(await readdir(tmp.path)).toEqual(['cache']);
    await expectFerryError(
      kind.open(craftedBundle({ 'model.mjs': 'x' }, '../model.mjs'), { ...ctx, sha256: '' }),
      ErrorCode.MODEL_INVALID_ARTIFACT,
    );
    await expectFerryError(
      kind.open(new TextEncoder().encode('{"format":"ferry-model"}'), { ...ctx, sha256: '' }),
      ErrorCode.MODEL_INVALID_ARTIFACT,
    );
  });

  it('bundling refuses a symbolic link out of the directory and a ".." entry', async () => {
    const dir = join(tmp.path, 'linked');
    await mkdir(dir);
    await writeFile(join(dir, 'model.mjs'), 'export default 1;');
    await expectFerryError(bundleCustomModel(dir, { entry: '../model.mjs' }), ErrorCode.MODEL_LOAD_FAILED);
    await symlink('/etc/hostname', join(dir, 'weights.bin'));
    const e = await expectFerryError(bundleCustomModel(dir), ErrorCode.MODEL_LOAD_FAILED);
    expect(e.message).toContain('"weights.bin" is a symbolic link that points outside the directory');
    await expectFerryError(bundleCustomModel(join(tmp.path, 'nope')), ErrorCode.MODEL_LOAD_FAILED);
  });

  it('defineModel checks the signature where the model is written and brands the definition', () => {
    const def = defineModel({
      signature: {
        inputs: [{ name: 'x', datatype: 'INT32', shape: [-1] }],
        outputs: [{ name: 'y', datatype: 'INT32', shape: [-1] }],
      },
      load: () => ({ predictBatch: (inputs) => ({ y: inputs.x! }) }),
    });
    expect(def.__ferryCustomModel).toBe(1);
    expectFerryErrorSync(
      () =>
        defineModel({
          signature: { inputs: [], outputs: [{ name: 'y', datatype: 'INT32', shape: [-1] }] },
          load: () => ({ predictBatch: () => ({}) }),
        }),
      ErrorCode.MODEL_INVALID_SIGNATURE,
    );
  });
});

describe('checkCustomModel', () => {
  const byName = (report: Awaited<ReturnType<typeof checkCustomModel>>) =>
    Object.fromEntries(report.checks.map((c) => [c.name, c]));

  it('passes the example', async () => {
    const report = await checkCustomModel(EXAMPLE, { cacheDir: ctx.cacheDir });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'bundles',
      'exports defineModel',
      'signature valid',
      'loads',
      'outputs match the signature',
      'deterministic',
      'batch of 1 and batch of N agree',
      'closes',
    ]);
  });

  it('a model with noise fails "deterministic" and a close that throws fails "closes"', async () => {
    const checks = byName(
      await checkCustomModel(join(FIXTURES, 'not-deterministic.mjs'), { cacheDir: ctx.cacheDir }),
    );
    expect(checks['outputs match the signature']!.ok).toBe(true);
    expect(checks.deterministic!.ok).toBe(false);
    expect(checks.closes!.ok).toBe(false);
    expect(checks.closes!.message).toContain('already closed');
  });

  it('a model whose rows depend on the batch fails "batch of 1 and batch of N agree" only', async () => {
    const report = await checkCustomModel(join(FIXTURES, 'batch-dependent.mjs'), { cacheDir: ctx.cacheDir });
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'batch of 1 and batch of N agree',
    ]);
  });

  it('stops at the first broken step and lists the rest as not run', async () => {
    const wrong = byName(
      await checkCustomModel(join(FIXTURES, 'wrong-output-shape.mjs'), { cacheDir: ctx.cacheDir }),
    );
    expect(wrong.loads!.ok).toBe(true);
    expect(wrong['outputs match the signature']!.ok).toBe(false);
    expect(wrong.deterministic).toMatchObject({ ok: false, skipped: true });
    expect(wrong.closes!.ok).toBe(true);

    const notDefined = byName(
      await checkCustomModel(join(FIXTURES, 'not-defined.mjs'), { cacheDir: ctx.cacheDir }),
    );
    expect(notDefined.bundles!.ok).toBe(true);
    expect(notDefined['exports defineModel']!.ok).toBe(false);
    expect(notDefined.loads).toMatchObject({ ok: false, skipped: true });

    const badSignature = byName(
      await checkCustomModel(join(FIXTURES, 'bad-signature.mjs'), { cacheDir: ctx.cacheDir }),
    );
    expect(badSignature['exports defineModel']!.ok).toBe(true);
    expect(badSignature['signature valid']!.ok).toBe(false);

    const loadThrows = byName(
      await checkCustomModel(join(FIXTURES, 'throws-at-load.mjs'), { cacheDir: ctx.cacheDir }),
    );
    expect(loadThrows.loads!.message).toContain('weights.bin is missing');

    const hangs = byName(
      await checkCustomModel(join(FIXTURES, 'never-returns.mjs'), {
        cacheDir: ctx.cacheDir,
        callTimeoutMs: 100,
      }),
    );
    expect(hangs['outputs match the signature']!.message).toContain('FERRY_MODEL_TIMEOUT');

    const missing = byName(await checkCustomModel(join(tmp.path, 'nope'), { cacheDir: ctx.cacheDir }));
    expect(missing.bundles!.ok).toBe(false);
  });
});
