import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CpuSample, sampleCpu } from './proc-cpu.js';
import type { LoadResult } from './processes.js';

const SCRIPT = resolve(import.meta.dirname, '../wrk/post.lua');
const scratch = mkdtempSync(join(tmpdir(), 'ferry-wrk-'));
let bodies = 0;

/**
 * wrk (C, Debian's package) as the load generator: unlike a Node one it is not the bottleneck
 * (issue 16). Installed with apt-get when missing, as the machines here allow.
 */
export function ensureWrk(): string {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    // wrk --version exits 1 after printing; only a missing binary (ENOENT) needs the install.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write('installing wrk (apt-get install wrk)\n');
      execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
    }
  }
  return 'wrk';
}

export interface WrkOptions {
  connections: number;
  seconds: number;
  /** Threads of wrk itself; 1 leaves the second core to the server on a 2-core machine. */
  threads?: number;
  /** Send `x-ferry-unit: user-<n>` from a pool of this many ids. */
  units?: number;
  /** The unmeasured run before the measured one (JIT warm-up, connections opened); default 3 s. */
  warmupSeconds?: number;
  /**
   * A server's pid: the measured run's result then carries the CPU seconds that process (and its
   * main thread) used during the run, so a cost can be read per request rather than from a rate
   * the rest of the machine also moves.
   */
  cpuOf?: number;
}

function runWrk(
  url: string,
  bodyFile: string | undefined,
  o: WrkOptions,
  seconds: number,
  bodyLines = false,
  cpuOf?: number,
): Promise<LoadResult> {
  const args = [
    '-t',
    String(o.threads ?? 1),
    '-c',
    String(o.connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    SCRIPT,
    url,
  ];
  return new Promise((res, rej) => {
    const cpuBefore: CpuSample | undefined = cpuOf === undefined ? undefined : sampleCpu(cpuOf);
    const child = spawn('wrk', args, {
      env: {
        ...process.env,
        WRK_BODY_FILE: bodyFile ?? '',
        WRK_BODY_LINES: bodyLines ? '1' : '0',
        WRK_UNITS: String(o.units ?? 0),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      const cpuAfter = cpuOf === undefined ? undefined : sampleCpu(cpuOf);
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (!line) return rej(new Error(`wrk exited ${code} without figures:\n${out}`));
      const r = JSON.parse(line) as {
        requests: number;
        seconds: number;
        p50_us: number;
        p99_us: number;
        errors: number;
        non2xx: number;
      };
      res({
        rps: r.requests / r.seconds,
        p50: r.p50_us / 1000,
        p99: r.p99_us / 1000,
        errors: r.errors + r.non2xx,
        requests: r.requests,
        ...(cpuBefore && cpuAfter
          ? {
              cpu: {
                process: cpuAfter.process - cpuBefore.process,
                mainThread: cpuAfter.mainThread - cpuBefore.mainThread,
              },
            }
          : {}),
      });
    });
  });
}

/**
 * An unmeasured run (JIT warm-up, 3 s unless `warmupSeconds` says otherwise), then the measured one. Several bodies (each a JSON text
 * on one line, as JSON.stringify gives) are sent in turn, request after request.
 */
export async function wrkPost(
  url: string,
  body: string | readonly string[],
  o: WrkOptions,
): Promise<LoadResult> {
  const bodyFile = join(scratch, `body-${++bodies}.json`);
  const lines = typeof body !== 'string';
  if (lines && body.some((b) => b.includes('\n')))
    throw new Error('wrkPost: a body of several holds a newline');
  writeFileSync(bodyFile, lines ? `${body.join('\n')}\n` : body);
  if ((o.warmupSeconds ?? 3) > 0) await runWrk(url, bodyFile, o, o.warmupSeconds ?? 3, lines);
  return runWrk(url, bodyFile, o, o.seconds, lines, o.cpuOf);
}

/** GET requests (lookups), warmed up like `wrkPost`. */
export async function wrkGet(url: string, o: WrkOptions): Promise<LoadResult> {
  if ((o.warmupSeconds ?? 3) > 0) await runWrk(url, undefined, o, o.warmupSeconds ?? 3);
  return runWrk(url, undefined, o, o.seconds, false, o.cpuOf);
}
