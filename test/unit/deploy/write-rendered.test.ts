import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { writeRendered } from '../../../src/deploy/write-rendered.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-deploy-write-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FILES = [
  { path: 'a.yaml', content: 'a: 1\n' },
  { path: 'overlays/prod/b.yaml', content: 'b: 2\n' },
  { path: 'run.sh', content: '#!/bin/sh\n', mode: 0o755 },
];

describe('writeRendered', () => {
  it('writes every file (with its mode) into a new directory, and again over its own files', async () => {
    const out = join(dir, 'deploy', 'k8s');
    await writeRendered(out, FILES);
    expect(await readFile(join(out, 'overlays/prod/b.yaml'), 'utf8')).toBe('b: 2\n');
    expect((await stat(join(out, 'run.sh'))).mode & 0o777).toBe(0o755);
    await writeRendered(out, [{ path: 'a.yaml', content: 'a: 3\n' }, ...FILES.slice(1)]);
    expect(await readFile(join(out, 'a.yaml'), 'utf8')).toBe('a: 3\n');
    // No staging directory is left behind.
    expect((await readdir(join(dir, 'deploy'))).filter((n) => n.startsWith('.ferry-deploy-'))).toEqual([]);
  });

  it('refuses a directory holding other files, writing nothing; --force writes beside them', async () => {
    const out = join(dir, 'mine');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'keep');
    await expect(writeRendered(out, FILES)).rejects.toMatchObject({
      code: ErrorCode.DEPLOY_OUTPUT,
      message: expect.stringContaining('notes.txt'),
    });
    expect(await readdir(out)).toEqual(['notes.txt']);
    await writeRendered(out, FILES, { force: true });
    expect((await readdir(out)).sort()).toEqual(['a.yaml', 'notes.txt', 'overlays', 'run.sh']);
  });

  it('refuses a file as --out, a directory where a file goes, and the kernel file systems', async () => {
    await writeFile(join(dir, 'f'), 'x');
    await expect(writeRendered(join(dir, 'f'), FILES)).rejects.toMatchObject({
      code: ErrorCode.DEPLOY_OUTPUT,
    });
    await mkdir(join(dir, 'o', 'a.yaml'), { recursive: true });
    await expect(writeRendered(join(dir, 'o'), FILES, { force: true })).rejects.toMatchObject({
      code: ErrorCode.DEPLOY_OUTPUT,
    });
    expect(await readdir(join(dir, 'o'))).toEqual(['a.yaml']);
    await expect(writeRendered('/proc/ferry', FILES)).rejects.toMatchObject({
      code: ErrorCode.DEPLOY_OUTPUT,
    });
  });

  it('refuses a renderer path that leaves the directory', async () => {
    for (const path of ['../x', '/etc/x', 'a/../../x', '', 'a\\b']) {
      await expect(writeRendered(join(dir, 'p'), [{ path, content: '' }])).rejects.toMatchObject({
        code: ErrorCode.INTERNAL,
      });
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
