/**
 * The dashboard (issue 15), measured: `npx tsx bench/ui.ts` (BENCH_SECONDS=8 by default).
 *
 * 1. Bundle: the built files' sizes, raw and gzip.
 * 2. Page load in Chromium on localhost, per page: first contentful paint and the time until the
 *    page shows its data, each the median of RUNS fresh contexts; the baseline is Swagger UI's page
 *    (/docs) served by the same server in the same run.
 * 3. What an open dashboard costs serving: POST /predict with wrk (64 connections) with no browser,
 *    then with the live traffic page open (it polls /metrics every 2 s) and with the experiments
 *    page open, in the same run.
 * 4. With UI_SCREENSHOTS=docs/img: the README's screenshots (1280×800), from this run's data.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { launchChromium, openUi } from '../test/helpers/browser.js';
import { PROJECTS } from '../test/helpers/serving.js';
import { ADMIN_TOKEN, startUiServer } from '../test/helpers/ui-server.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
ensureWrk();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function bundle(): void {
  const dir = join(ROOT, 'dist/ui/assets');
  console.log('\n## Bundle (dist/ui/assets)\n');
  console.log('| file | bytes | gzip |');
  console.log('|---|---:|---:|');
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(dir).filter((n) => !n.endsWith('.map'))) {
    const bytes = readFileSync(join(dir, f));
    const g = gzipSync(bytes).length;
    raw += statSync(join(dir, f)).size;
    gz += g;
    console.log(`| ${f} | ${bytes.length} | ${g} |`);
  }
  console.log(`| total | ${raw} | ${gz} |`);
}

interface PageSpec {
  name: string;
  path: string;
  /** A selector that is on the page once its data is shown. */
  ready: string;
}

async function pageLoad(
  browser: Browser,
  base: string,
  spec: PageSpec,
): Promise<{ fcp: number; ready: number }> {
  const fcps: number[] = [];
  const readies: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      const t0 = Date.now();
      await ui.page.goto(`${base}${spec.path}`);
      await ui.page.locator(spec.ready).first().waitFor({ timeout: 30_000 });
      readies.push(Date.now() - t0);
      fcps.push(
        (await ui.page.evaluate(
          "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN",
        )) as number,
      );
    } finally {
      await ui.close();
    }
  }
  return { fcp: median(fcps), ready: median(readies) };
}

const server = await startUiServer({ args: ['--cache', 'off'] });
const browser = await launchChromium();
try {
  bundle();
  // Data for the pages: an A/B test, and some traffic.
  await server
    .admin('POST', '/v1/experiments', {
      name: 'bench-ab',
      type: 'ab',
      model: 'tagifai',
      arms: [
        { name: 'control', version: 1, weight: 0.5 },
        { name: 'treatment', version: 2, weight: 0.5 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
    })
    .catch((e: unknown) => console.error(`(no A/B test for the bench: ${String(e)})`));
  // 200 users routed by the A/B test, each converting or not (treatment more often).
  const events: { unit: string; metric: string; value: number; event_id: string }[] = [];
  for (let u = 0; u < 200; u++) {
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ferry-unit': `user-${u}` },
      body: JSON.stringify(u % 2 === 0 ? PROJECTS.nlp : PROJECTS.cv),
    });
    const arm = res.headers.get('x-ferry-arm');
    const converted = arm === 'treatment' ? u % 5 !== 0 : u % 3 === 0;
    events.push({ unit: `user-${u}`, metric: 'accepted', value: converted ? 1 : 0, event_id: `e-${u}` });
  }
  await server
    .admin('POST', '/v1/experiments/bench-ab/events', { events })
    .catch((e: unknown) => console.error(`(no events: ${String(e)})`));

  const pages: PageSpec[] = [
    { name: 'baseline: Swagger UI (/docs)', path: '/docs', ready: '.swagger-ui .info' },
    { name: 'overview', path: '/ui/', ready: '[data-testid=server-name]' },
    { name: 'models', path: '/ui/#/models', ready: 'main table' },
    { name: 'live traffic', path: '/ui/#/traffic', ready: 'main .chart canvas' },
    { name: 'experiments', path: '/ui/#/experiments', ready: 'main table' },
    { name: 'batch jobs', path: '/ui/#/batch', ready: 'main h1' },
  ];
  console.log(`\n## Page load in Chromium (median of ${RUNS} fresh contexts, localhost)\n`);
  console.log('| page | first contentful paint ms | data shown ms |');
  console.log('|---|---:|---:|');
  for (const spec of pages) {
    try {
      const r = await pageLoad(browser, server.url, spec);
      console.log(`| ${spec.name} | ${r.fcp.toFixed(0)} | ${r.ready.toFixed(0)} |`);
    } catch (e) {
      console.log(`| ${spec.name} | failed: ${(e as Error).message.split('\n')[0]} | |`);
    }
  }

  console.log(
    `\n## POST /predict with wrk, 64 connections, ${SECONDS} s, with and without an open dashboard\n`,
  );
  console.log('| dashboard | req/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  const body = JSON.stringify(PROJECTS.nlp);
  await wrkPost(`${server.url}/predict`, body, { connections: 64, seconds: 2 }); // warm-up
  const runs: [string, string | null][] = [
    ['none (baseline)', null],
    ['live traffic page open', '/ui/#/traffic'],
    ['experiments page open', '/ui/#/experiments'],
    ['none again', null],
  ];
  for (const [name, path] of runs) {
    const ui = path === null ? undefined : await openUi(browser, { token: ADMIN_TOKEN });
    try {
      if (ui && path) await ui.page.goto(`${server.url}${path}`);
      const r = await wrkPost(`${server.url}/predict`, body, { connections: 64, seconds: SECONDS });
      console.log(
        `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`,
      );
    } finally {
      await ui?.close();
    }
  }
  const shots = process.env.UI_SCREENSHOTS;
  if (shots !== undefined) {
    mkdirSync(shots, { recursive: true });
    const ui = await openUi(browser, { token: ADMIN_TOKEN, viewport: { width: 1280, height: 800 } });
    try {
      // The traffic page keeps what it read in the tab: it is opened first and watched under load.
      await ui.page.goto(`${server.url}/ui/#/traffic?window=2`);
      await wrkPost(`${server.url}/predict`, [JSON.stringify(PROJECTS.nlp), JSON.stringify(PROJECTS.cv)], {
        connections: 8,
        seconds: 20,
      });
      await ui.page.screenshot({ path: join(shots, 'dashboard-traffic.png') });
      for (const [name, path, ready] of [
        ['models', '/ui/#/models/tagifai', 'main table'],
        ['experiment-ab', '/ui/#/experiments/bench-ab', 'main table'],
        ['experiments', '/ui/#/experiments', 'main table'],
      ] as const) {
        await ui.page.goto(`${server.url}${path}`);
        await ui.page.locator(ready).first().waitFor();
        await new Promise((r) => setTimeout(r, 500));
        await ui.page.screenshot({ path: join(shots, `dashboard-${name}.png`) });
      }
      console.log(`\nscreenshots written to ${shots}`);
    } finally {
      await ui.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
