/**
 * Every flag that writes a file is checked before any work (issue 8, item 13): through the CLI as a
 * user runs it, each refusal is FERRY_CLI_OUTPUT_PATH with exit 2, the input is untouched and no
 * job (or model version, or alias move) was made.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureJobTables } from '../../src/batch/job/job-tables.js';
import { validateOutputPath } from '../../src/cli/output-path.js';
import { ErrorCode } from '../../src/core/errors.js';
import { type CliResult, errorCode } from '../helpers/cli.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { TSX_WORKER_ARGS } from '../helpers/source-node-args.js';
import { type BatchEnv, createBatchEnv, generateProjects, MODEL, runFerry, writeCsv } from './helpers.js';

let env: BatchEnv;
let input: string;
let inputBytes: Buffer;
beforeAll(async () => {
  env = await createBatchEnv();
  input = writeCsv(join(env.home, 'input.csv'), generateProjects(20, 'out-'));
  inputBytes = readFileSync(input);
});
afterAll(() => env?.close());

const ferry = (...args: string[]) => runFerry(args, env.env);
const jobs = async () => {
  await ensureJobTables(env.ferry.sql);
  const [row] = await env.ferry.sql.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM ferry_batch_jobs');
  return Number(row?.n ?? 0);
};

function expectRefused(r: CliResult, why: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(errorCode(r), r.stderr).toBe(ErrorCode.CLI_OUTPUT_PATH);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
}

describe('batch predict --rejects-fp is checked before the job starts', () => {
  it('refuses the input itself (also through a symlink or another spelling), a directory, a dangling symlink, a file as parent, /proc and the registry database', async () => {
    const dir = join(env.home, 'a-directory');
    mkdirSync(dir);
    const link = join(env.home, 'link-to-input.csv');
    symlinkSync(input, link);
    const dangling = join(env.home, 'dangling.csv');
    symlinkSync(join(env.home, 'nowhere', 'target.csv'), dangling);
    const cases: Array<[string, RegExp]> = [
      [input, /same file as the input/],
      [join(env.home, '.', 'x', '..', 'input.csv'), /same file as the input/],
      [link, /same file as the input/],
      [dir, /a directory/],
      [dangling, /dangling symbolic link/],
      [join(input, 'rejects.csv'), /parent .* is a file/],
      ['/proc/self/rejects.csv', /under \/proc/],
      ['/dev/null', /under \/dev/],
      [join(env.home, 'ferry.db'), /same file as the input/],
    ];
    const before = await jobs();
    const results = [];
    // Three at a time: the machine is shared.
    for (let i = 0; i < cases.length; i += 3) {
      results.push(
        ...(await Promise.all(
          cases
            .slice(i, i + 3)
            .map(([path]) => ferry('batch', 'predict', '--input-loc', input, '--rejects-fp', path)),
        )),
      );
    }
    for (const [i, r] of results.entries()) expectRefused(r, cases[i]![1]);
    expect(readFileSync(input).equals(inputBytes)).toBe(true);
    expect(await jobs()).toBe(before);
  });

  it('a path under /proc is refused at once (mkdir -p there never returns on Node 20)', async () => {
    const started = Date.now();
    const r = await runFerry(
      ['batch', 'predict', '--input-loc', input, '--rejects-fp', '/proc/1/new-dir/deeper/r.csv'],
      env.env,
    );
    expectRefused(r, /under \/proc/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a directory this user cannot write is refused before the job (run as an unprivileged user when root)', async () => {
    const ro = join(env.home, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    chmodSync(env.home, 0o755);
    chmodSync(input, 0o644);
    const r = await runAs([
      'batch',
      'predict',
      '--input-loc',
      input,
      '--rejects-fp',
      join(ro, 'sub', 'r.csv'),
    ]);
    expectRefused(r, /directory .*read-only is not writable/);
  });

  it('a good path still works: the job runs and writes it, creating directories', async () => {
    const out = join(env.home, 'new', 'dirs', 'rejects.csv');
    const r = await ferry('batch', 'predict', '--input-loc', input, '--rejects-fp', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('line,id,reason\n');
  });
});

describe('train and evaluate --results-fp, serve --prediction-log jsonl:', () => {
  it('train --promote with a bad --results-fp fails before training: production does not move', async () => {
    const before = await env.ferry.registry.resolve(`${MODEL}@production`);
    const versionsBefore = (await env.ferry.registry.list(MODEL)).length;
    const dir = join(env.home, 'results-dir');
    mkdirSync(dir, { recursive: true });
    const [train, evaluate, sameAsData] = await Promise.all([
      ferry('train', '--dataset-loc', input, '--promote', '--force', '--no-tune', '--results-fp', dir),
      ferry('evaluate', '--model', `${MODEL}@production`, '--dataset-loc', input, '--results-fp', dir),
      ferry('evaluate', '--model', `${MODEL}@production`, '--dataset-loc', input, '--results-fp', input),
    ]);
    expectRefused(train, /a directory/);
    expectRefused(evaluate, /a directory/);
    expectRefused(sameAsData, /same file as the input/);
    expect(readFileSync(input).equals(inputBytes)).toBe(true);
    expect((await env.ferry.registry.resolve(`${MODEL}@production`)).version).toBe(before.version);
    expect((await env.ferry.registry.list(MODEL)).length).toBe(versionsBefore);
  });

  it('serve --prediction-log jsonl:<dir> is refused before serving', async () => {
    const r = await ferry('serve', '--port', '0', '--prediction-log', `jsonl:${env.home}`);
    expectRefused(r, /a directory/);
  });
});

describe('validateOutputPath', () => {
  it('returns the absolute path of a writable place and refuses an empty one', async () => {
    expect(await validateOutputPath('rel/out.json', { flag: '--x' })).toBe(resolve('rel/out.json'));
    await expectFerryError(validateOutputPath('  ', { flag: '--x' }), ErrorCode.CLI_OUTPUT_PATH, 400);
    const fifoLike = '/dev/stdout';
    await expectFerryError(validateOutputPath(fifoLike, { flag: '--x' }), ErrorCode.CLI_OUTPUT_PATH);
    const file = join(env.home, 'plain.txt');
    writeFileSync(file, 'x');
    expect(await validateOutputPath(file, { flag: '--x', inputs: [join(env.home, 'other.txt')] })).toBe(file);
  });
});

/** The CLI from source as an unprivileged user when this process is root (root may write anywhere). */
function runAs(args: string[]): Promise<CliResult> {
  const root = resolve(import.meta.dirname, '../..');
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  return new Promise((done, fail) => {
    const child = spawn(
      resolve(root, 'node_modules/.bin/tsx'),
      [...TSX_WORKER_ARGS, resolve(root, 'src/cli/index.ts'), ...args],
      {
        cwd: root,
        env: Object.fromEntries(
          Object.entries({ ...process.env, ...env.env, FORCE_COLOR: '0' }).filter(([, v]) => v !== undefined),
        ) as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...asNobody,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
