import type { ChildProcess } from 'node:child_process';

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
  /** Requests completed in the measured run (wrk's count). */
  requests?: number;
  /** CPU seconds the server used during the measured run, when `WrkOptions.cpuOf` named it. */
  cpu?: { process: number; mainThread: number };
}
