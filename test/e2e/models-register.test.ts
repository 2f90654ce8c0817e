import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCode, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const home = tmpDir('ferry-register-');
const cli = (...args: string[]) => runCli(args, { FERRY_HOME: home.path, FERRY_CACHE_DIR: undefined });
afterAll(() => home.remove());

const MLP = 'test/fixtures/onnx/mlp.onnx';

describe('ferry models register', () => {
  it('registers an ONNX file with the signature read from its graph, and moves an alias', async () => {
    const r = await cli(
      'models',
      'register',
      '--name',
      'mlp',
      '--kind',
      'onnx',
      '--artifact',
      MLP,
      '--alias',
      'production',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ name: 'mlp', version: 1, kind: 'onnx', aliases: ['production'] });
    expect(v.signature.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    const shown = await cli('models', 'show', 'mlp@production');
    expect(shown.stdout).toContain('"kind": "onnx"');
  });

  it('refuses bad input with a stable code and writes nothing', async () => {
    const bad = join(home.path, 'bad.onnx');
    await writeFile(bad, Buffer.alloc(4096, 7));
    const notJson = join(home.path, 'sig.txt');
    await writeFile(notJson, 'nope');
    const cases: [string[], string][] = [
      [['--kind', 'onnx', '--artifact', join(home.path, 'missing.onnx')], 'FERRY_CLI_USAGE'],
      [['--kind', 'onnx', '--artifact', home.path], 'FERRY_CLI_USAGE'],
      [['--kind', 'onnx', '--artifact', bad], 'FERRY_MODEL_LOAD_FAILED'],
      [['--kind', 'onnx', '--artifact', MLP, '--signature', notJson], 'FERRY_MODEL_INVALID_SIGNATURE'],
      [['--kind', 'nope', '--artifact', MLP], 'FERRY_MODEL_UNKNOWN_KIND'],
      [['--kind', 'remote-v2', '--url', 'http://user:secret@example.test/'], 'FERRY_CLI_USAGE'],
      [['--kind', 'custom', '--artifact', join(home.path, 'nowhere')], 'FERRY_MODEL_LOAD_FAILED'],
    ];
    for (const [args, code] of cases) {
      const r = await cli('models', 'register', '--name', 'other', ...args);
      expect(r.code, r.stderr).not.toBe(0);
      expect(errorCode(r)).toBe(code);
      expect(r.stderr).not.toContain('secret');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const nul = await cli('models', 'register', '--name', 'a\u0001b', '--kind', 'onnx', '--artifact', MLP);
    expect(errorCode(nul)).toBe('FERRY_REGISTRY_INVALID_NAME');
    const list = await cli('models', 'list', '--json');
    expect(JSON.parse(list.stdout).map((v: { name: string }) => v.name)).toEqual(['mlp']);
  });
});
