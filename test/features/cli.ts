import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SOURCE_NODE_ARGS } from '../helpers/source-node-args.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** tsx by path: the commands run in a project directory of their own, where `tsx` does not resolve. */
const NODE_ARGS = SOURCE_NODE_ARGS.map((a) =>
  a === 'tsx' ? pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href : a,
);

export type Spawned = ChildProcess & {
  output: () => { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** `ferry <args>` from source in its own process, in `cwd`. */
export function spawnFerry(args: string[], env: Record<string, string | undefined>, cwd: string): Spawned {
  const child = spawn(process.execPath, [...NODE_ARGS, resolve(ROOT, 'src/cli/index.ts'), ...args], {
    cwd,
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('close', (code, signal) => res({ code, signal }));
  });
  return Object.assign(child, { output: () => ({ stdout, stderr }), exited });
}

export async function runFerry(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnFerry(args, env, cwd);
  const { code } = await child.exited;
  return { code, ...child.output() };
}
