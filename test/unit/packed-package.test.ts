import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * The package as npm would install it: `npm pack` (the `files` list, `main`, `types`, the built
 * dist), unpacked as `node_modules/ferry` of a scratch project, imported by a plain ESM program.
 * The scratch project sits inside this checkout so that ferry's own dependencies resolve from the
 * checkout's node_modules (nothing is downloaded); ferry itself comes only from the tarball.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(ROOT, '.tmp-packed-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the packed package', () => {
  it('installs from its tarball and is used as a user would: openRegistry, defineModel, registerArtifact, loadModel, ferry/lambda', () => {
    expect(existsSync(join(ROOT, 'dist/index.js')), 'run npm run build first').toBe(true);
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, npm_config_ignore_scripts: 'true' },
    });
    const tarball = join(scratch, out.trim().split('\n').pop()!);
    const project = join(scratch, 'app');
    const installed = join(project, 'node_modules', 'ferry');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'src')), 'sources are not shipped').toBe(false);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'app', type: 'module', private: true }),
    );
    writeFileSync(
      join(project, 'main.js'),
      `
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineModel, openRegistry, loadConfig, registerArtifact, kindContextOf, loadModel, bundleCustomModel } from 'ferry';
const home = mkdtempSync(join(tmpdir(), 'ferry-packed-'));
const dir = mkdtempSync(join(tmpdir(), 'ferry-model-'));
writeFileSync(join(dir, 'model.mjs'), \`
import { defineModel } from 'ferry';
export default defineModel({
  signature: { inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP64', shape: [-1] }] },
  load() { return { predictBatch({ x }) { const n = x.shape[0]; return { y: { datatype: 'FP64', shape: [n], data: Array.from({ length: n }, (_, i) => x.data[2 * i] + x.data[2 * i + 1]) } }; } }; },
});\`);
if (typeof defineModel !== 'function') throw new Error('no defineModel');
const config = loadConfig({ FERRY_HOME: home });
const ferry = await openRegistry(config);
const v = await registerArtifact(ferry.registry, 'adder', await bundleCustomModel(dir), { kind: 'custom' }, kindContextOf(config));
const { model } = await loadModel(ferry.registry, 'adder/' + v.version, kindContextOf(config));
const out = await model.infer({ x: { datatype: 'FP64', shape: [2, 2], data: [1, 2, 3, 4] } });
await model.close?.();
// The ./lambda entry: the same version bundled beside a handler (model.json + artifact), one event.
const { createLambdaHandler } = await import('ferry/lambda');
const { version: meta, bytes } = await ferry.registry.loadArtifact('adder/' + v.version);
const modelDir = mkdtempSync(join(tmpdir(), 'ferry-lambda-model-'));
writeFileSync(join(modelDir, 'model.bin'), bytes);
writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ format: 'ferry-lambda-model/1', artifact: 'model.bin', name: 'adder', version: meta.version, kind: meta.kind, sha256: meta.artifactSha256, size: bytes.length, signature: meta.signature }));
await ferry.close();
const handler = createLambdaHandler({ model: { dir: modelDir }, cacheDir: join(home, 'lambda-cache'), serving: (await import('ferry')).loadServingConfig({ FERRY_ALIASES: 'production' }) });
const res = await handler({ version: '2.0', rawPath: '/v2/models/adder/infer', headers: { 'content-type': 'application/json' }, requestContext: { http: { method: 'POST' } }, body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2], data: [5, 6] }] }), isBase64Encoded: false });
await (await handler.ready()).close();
console.log(JSON.stringify({ kind: v.kind, signature: v.signature, y: out.y.data, lambda: { status: res.statusCode, outputs: JSON.parse(res.body).outputs } }));
`,
    );
    const result = JSON.parse(
      execFileSync(process.execPath, ['main.js'], { cwd: project, encoding: 'utf8' }),
    );
    expect(result.kind).toBe('custom');
    expect(result.signature.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP64', shape: [-1, 2] });
    expect(result.y).toEqual([3, 7]);
    expect(result.lambda.status).toBe(200);
    expect(result.lambda.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP64', shape: [1], data: [11] });
  }, 120_000);
});
