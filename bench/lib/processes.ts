import { type ChildProcess, spawn } from 'node:child_process';

/** Resolves with the first capture of `pattern` in the child's output (a listening address). */
export function waitForAddress(
  child: ChildProcess,
  pattern = /"address":"(http:\/\/[^"]+)"/,
): Promise<string> {
  return new Promise((res, rej) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) res(m[1]!);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => rej(new Error(`server exited (${code}) before listening:\n${out}`)));
    setTimeout(() => rej(new Error(`server did not start:\n${out}`)), 60_000).unref();
  });
}

/** SIGTERM, then wait for the exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Runs a load generator command that prints autocannon's JSON; returns its figures. */
function runLoad(command: string, args: string[], cwd?: string): Promise<LoadResult> {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', () => {
      try {
        const r = JSON.parse(out) as {
          requests: { average: number };
          latency: { p50: number; p99: number };
          errors: number;
          non2xx: number;
        };
        res({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx });
      } catch (e) {
        rej(e);
      }
    });
  });
}

/**
 * A short unmeasured run first, so that every server is measured with its code JIT-compiled;
 * `args(seconds)` builds the command line for a run of that length.
 */
export async function warmedLoad(
  command: string,
  args: (seconds: number) => string[],
  seconds: number,
  cwd?: string,
): Promise<LoadResult> {
  await runLoad(command, args(2), cwd);
  return runLoad(command, args(seconds), cwd);
}
