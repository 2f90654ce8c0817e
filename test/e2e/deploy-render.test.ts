import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_TARGETS } from '../../src/deploy/deploy-types.js';
import { errorCode, runCli } from '../helpers/cli.js';

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-deploy-cli-'));
  // An empty registry of its own: no model exists there.
  env = { FERRY_HOME: join(dir, 'home'), FERRY_DB: `sqlite:${join(dir, 'home', 'ferry.db')}` };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ferry deploy', () => {
  it('targets --json lists every target with its default directory', async () => {
    const r = await runCli(['deploy', 'targets', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { target: string; defaultOut: string }[];
    expect(rows.map((x) => x.target)).toEqual([...DEPLOY_TARGETS]);
  });

  it('render writes the files with the flags in them', async () => {
    const out = join(dir, 'k8s');
    const r = await runCli(
      [
        'deploy',
        'render',
        'kubernetes',
        '--out',
        out,
        '--json',
        '--replicas',
        '3',
        '--image',
        'ghcr.io/acme/ferry:1.2.3',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const { files } = JSON.parse(r.stdout) as { files: string[] };
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(existsSync(join(out, f)), f).toBe(true);
    const all = (await Promise.all(files.map((f) => readFile(join(out, f), 'utf8')))).join('\n');
    expect(all).toContain('ghcr.io/acme/ferry:1.2.3');
    expect(all).not.toContain('ferry:0.1.0');
  });

  it.each([
    [['deploy', 'render', 'heroku'], 2, 'FERRY_DEPLOY_INVALID'],
    [['deploy', 'render', 'kubernetes', '--replicas', '0'], 2, 'FERRY_DEPLOY_INVALID'],
    [['deploy', 'render', 'kubernetes', '--memory', '1Pi'], 2, 'FERRY_DEPLOY_INVALID'],
    [['deploy', 'render', 'kubernetes', '--image', 'a b'], 2, 'FERRY_DEPLOY_INVALID'],
    [['deploy', 'render', 'kubernetes', '--model', 'nope@production'], 1, 'FERRY_REGISTRY_NOT_FOUND'],
    [['deploy', 'render', 'kubernetes', '--model', 'Bad Name'], 1, 'FERRY_REGISTRY_INVALID_REF'],
  ])('%j exits %i with %s and writes nothing', async (args, code, name) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const r = await runCli([...args, '--out', out], env);
    expect(r.code, r.stderr).toBe(code);
    expect(errorCode(r)).toBe(name);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('a directory holding other files is refused, nothing added; --force writes beside them', async () => {
    const out = join(dir, 'busy');
    await mkdir(out);
    await writeFile(join(out, 'mine.txt'), 'keep');
    const r = await runCli(['deploy', 'render', 'systemd', '--out', out], env);
    expect(r.code, r.stderr).toBe(2);
    expect(errorCode(r)).toBe('FERRY_DEPLOY_OUTPUT');
    expect(r.stderr).toContain('mine.txt');
    expect(await readdir(out)).toEqual(['mine.txt']);
    const forced = await runCli(['deploy', 'render', 'systemd', '--out', out, '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readdir(out)).length).toBeGreaterThan(2);
  });
});
