/**
 * bench/deploy/container: the serving image (the committed Dockerfile) measured with podman.
 * - image size;
 * - start to ready: `podman run` called → first 200 on /v2/health/ready (median of BENCH_STARTS);
 * - POST /predict throughput under wrk (one thread, 64 connections, 3 s warm-up, BENCH_SECONDS
 *   measured, one run each), with the image's settings and with FERRY_CACHE=off (the model runs
 *   on every request), inside the container through its published port, beside the same server
 *   outside it: /app copied out of the image (the same dist/, node_modules and baked model) and
 *   run with the host's node and the image's environment.
 * Run: npm run bench:deploy:container   (builds the image first: reuses the layer cache)
 * The containers run with test/helpers/oci-runtime/runc, this sandbox's rlimit workaround.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FERRY_VERSION } from '../../src/core/version.js';
import { buildImage, podman, waitFor200 } from '../../test/helpers/container-image.js';
import { freePort } from '../../test/helpers/redis-server.js';
import { stopProcess } from '../lib/processes.js';
import { median } from '../lib/stats.js';
import { ensureWrk, wrkPost } from '../lib/wrk.js';

const IMAGE = `localhost/ferry:${FERRY_VERSION}`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const CONNECTIONS = 64;
const BODY = JSON.stringify({
  title: 'Transfer learning with transformers',
  description: 'Using transformers for transfer learning on text classification tasks.',
});

ensureWrk();
const t0 = performance.now();
await buildImage([IMAGE]);
process.stdout.write(
  `image ${IMAGE} built (or found in the layer cache) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
);
const [inspect] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout) as [
  { Size: number; Config: { Env: string[] } },
];

async function runContainer(port: number): Promise<string> {
  return (await podman(['run', '--detach', '--publish', `127.0.0.1:${port}:8000`, IMAGE])).stdout.trim();
}

async function removeContainer(id: string): Promise<void> {
  await podman(['rm', '--force', '--time', '20', id], { allowFailure: true });
}

// Start to ready.
const startMs: number[] = [];
for (let i = 0; i < STARTS; i++) {
  const port = await freePort();
  const t = performance.now();
  const id = await runContainer(port);
  try {
    await waitFor200(`http://127.0.0.1:${port}/v2/health/ready`, 60_000);
    startMs.push(performance.now() - t);
  } finally {
    await removeContainer(id);
  }
}

type Load = Awaited<ReturnType<typeof wrkPost>>;
/** Two settings: the image's defaults (a repeated body: answers from the prediction cache) and no cache. */
const SETTINGS: { label: string; env: Record<string, string> }[] = [
  { label: 'image defaults (memory: cache, repeated body)', env: {} },
  { label: 'FERRY_CACHE=off (the model on every request)', env: { FERRY_CACHE: 'off' } },
];

async function insideContainer(env: Record<string, string>): Promise<Load> {
  const port = await freePort();
  const id = (
    await podman([
      'run',
      '--detach',
      ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      '--publish',
      `127.0.0.1:${port}:8000`,
      IMAGE,
    ])
  ).stdout.trim();
  try {
    await waitFor200(`http://127.0.0.1:${port}/v2/health/ready`, 60_000);
    return await wrkPost(`http://127.0.0.1:${port}/predict`, BODY, {
      connections: CONNECTIONS,
      seconds: SECONDS,
    });
  } finally {
    await removeContainer(id);
  }
}

// The same /app on the host: copied out of a created (never started) container.
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-app-'));
const created = (await podman(['create', IMAGE])).stdout.trim();
const app = join(dir, 'app');
try {
  await podman(['cp', `${created}:/app`, dir]);
} finally {
  await podman(['rm', '--force', created], { allowFailure: true });
}

async function onHost(extra: Record<string, string>): Promise<Load> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const kv of inspect.Config.Env) {
    const eq = kv.indexOf('=');
    if (!kv.startsWith('PATH=')) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  Object.assign(env, extra, { FERRY_HOME: join(app, '.ferry'), PORT: String(port), FERRY_HOST: '127.0.0.1' });
  const server = spawn(process.execPath, ['dist/cli/index.js', 'serve'], { cwd: app, env, stdio: 'ignore' });
  try {
    await waitFor200(`http://127.0.0.1:${port}/v2/health/ready`, 60_000);
    return await wrkPost(`http://127.0.0.1:${port}/predict`, BODY, {
      connections: CONNECTIONS,
      seconds: SECONDS,
    });
  } finally {
    await stopProcess(server);
  }
}

const results: { label: string; where: string; r: Load }[] = [];
try {
  for (const setting of SETTINGS) {
    results.push({
      label: setting.label,
      where: 'in the container (published port)',
      r: await insideContainer(setting.env),
    });
    results.push({ label: setting.label, where: 'same /app on the host', r: await onHost(setting.env) });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
const rows = [
  ['image size', `${(inspect.Size / 1e6).toFixed(1)} MB`],
  [
    `start → ready (median of ${STARTS})`,
    `${median(startMs).toFixed(0)} ms (${startMs.map((m) => m.toFixed(0)).join(', ')})`,
  ],
];
process.stdout.write(
  `\n| ${IMAGE} | |\n| --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\n`,
);
process.stdout.write(
  `POST /predict, wrk 1 thread, ${CONNECTIONS} connections, ${SECONDS} s after a 3 s warm-up, one run each (load average ${load} at the end):\n\n| settings | server | requests/s | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- | --- |\n`,
);
for (const { label, where, r } of results)
  process.stdout.write(
    `| ${label} | ${where} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |\n`,
  );
