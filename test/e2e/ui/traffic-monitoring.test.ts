/**
 * The live traffic and monitoring pages in a real browser against a real `ferry serve --monitor`:
 * real /predict traffic (a repeated input, so the cache hits) while the traffic page polls
 * /metrics; the drift report of tagifai from the SQL prediction log with the admin token, and the
 * clear 401 message with a wrong one.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../../src/app/open-ferry.js';
import { openProfileStore, profileTrainedVersion } from '../../../src/app/open-monitoring.js';
import {
  launchChromium,
  openUi,
  PHONE,
  RUN_BROWSER,
  screenshot,
  unexpectedErrors,
} from '../../helpers/browser.js';
import {
  createTestRegistry,
  MODEL,
  PROJECTS,
  sampleDataset,
  type TestRegistry,
  trainSmall,
  V1_SPEC,
} from '../../helpers/serving.js';
import { ADMIN_TOKEN, startUiServer, type UiServer } from '../../helpers/ui-server.js';

/** The number a card shows: "12.3/s" → 12.3, "45.0 %" → 45, "—" → NaN. */
const SCRIPT_NUMBER = (testId: string) =>
  `Number.parseFloat((document.querySelector('[data-testid="${testId}"]')?.textContent ?? '').replace(/,/g, ''))`;

/**
 * Waits until `expression` is truthy in the page. Not page.waitForFunction: its polling evaluates a
 * string with eval() inside the page, which the dashboard's CSP (script-src 'self') refuses.
 */
async function waitUntil(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(expression)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!RUN_BROWSER)('live traffic and monitoring pages in Chromium', () => {
  let reg: TestRegistry;
  let server: UiServer;
  let browser: Browser;

  beforeAll(async () => {
    reg = await createTestRegistry();
    // Version 1 (production) gets the reference profile `ferry train` makes: its validation split.
    const ferry = await openFerry(reg.config);
    try {
      await profileTrainedVersion(
        await openProfileStore(ferry),
        { name: MODEL, version: 1 },
        trainSmall(V1_SPEC),
        sampleDataset().rows,
      );
    } finally {
      await ferry.close();
    }
    // A rule that fires at the first tick whose window has drifted (the defaults wait 5 minutes).
    const rules = join(reg.home, 'alerts.json');
    writeFileSync(
      rules,
      JSON.stringify({
        rules: [
          {
            name: 'ui-test-drift',
            metric: 'dataset_drift_share',
            op: '>=',
            threshold: 0.5,
            severity: 'critical',
          },
        ],
      }),
    );
    [server, browser] = await Promise.all([
      startUiServer({
        reg,
        args: ['--monitor', '--monitor-rules', rules],
        env: { FERRY_MONITOR_INTERVAL_MS: '3000' },
      }),
      launchChromium(),
    ]);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await reg?.close();
  });

  /** Numbers the inputs across calls, so that only the repeated one is ever in the cache. */
  let serial = 0;

  /** POSTs /predict `total` times, `concurrency` at a time; every third request is the same input. */
  async function sendTraffic(total: number, concurrency = 8): Promise<number[]> {
    const statuses: number[] = [];
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        const i = serial++;
        const body =
          i % 3 === 0
            ? PROJECTS.mlops
            : {
                title: `Project ${i}: transformers for text`,
                description: `variant ${i} of a language model`,
              };
        const res = await fetch(`${server.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return statuses;
  }

  it('shows requests/s, latency percentiles, the cache hit rate and live charts while traffic flows', async () => {
    const ui = await openUi(browser);
    try {
      await ui.page.goto(`${server.url}/ui/#/traffic`);
      await ui.page.getByRole('heading', { level: 1, name: 'Live traffic' }).waitFor();
      expect(await ui.page.getByText('Read-only and public: no token needed.').count()).toBe(1);
      await ui.page.getByTestId('traffic-cards').waitFor({ timeout: 15_000 });
      // Traffic for ~10 s, so several 2 s reads see it.
      let sending = true;
      const traffic = (async () => {
        const all: number[] = [];
        while (sending && all.length < 3000) all.push(...(await sendTraffic(60)));
        return all;
      })();
      try {
        await waitUntil(
          ui.page,
          `${SCRIPT_NUMBER('card-predictions')} > 0 && ${SCRIPT_NUMBER('card-cache')} > 0 && /s/.test(document.querySelector('[data-testid="card-latency"]')?.textContent ?? '')`,
          20_000,
        );
        await ui.page.waitForTimeout(4000);
        const requests = (await ui.page.evaluate(SCRIPT_NUMBER('card-requests'))) as number;
        const predictions = (await ui.page.evaluate(SCRIPT_NUMBER('card-predictions'))) as number;
        const hitRate = (await ui.page.evaluate(SCRIPT_NUMBER('card-cache'))) as number;
        expect(requests).toBeGreaterThan(1);
        expect(predictions).toBeGreaterThan(1);
        // A third of the requests repeat one input: about a third of the lookups hit.
        expect(hitRate).toBeGreaterThan(10);
        expect(hitRate).toBeLessThan(60);
        // "850 µs / 1.20 ms / 2.40 ms": three durations, p50 ≤ p95 ≤ p99.
        const latency = (await ui.page.getByTestId('card-latency').textContent()) ?? '';
        const durations = latency.split(' / ').map((d) => {
          const [v, unit] = d.split(' ') as [string, string];
          return Number(v) * ({ µs: 1e-6, ms: 1e-3, s: 1 }[unit] ?? Number.NaN);
        });
        expect(durations).toHaveLength(3);
        expect(durations.every((d) => d > 0)).toBe(true);
        expect(durations[0]!).toBeLessThanOrEqual(durations[1]!);
        expect(durations[1]!).toBeLessThanOrEqual(durations[2]!);
        expect(await ui.page.getByTestId('card-batch').textContent()).toMatch(/^\d/);
        // The /predict route is in the table with its 200s.
        const row = ui.page.getByTestId('traffic-routes').getByRole('row', { name: /POST \/predict/ });
        expect(await row.textContent()).toMatch(/200: [\d.]+\/s/);
        // Six live charts, each drawn by uPlot on a canvas.
        expect(await ui.page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(6);
        expect(await ui.page.locator('.chart [role="img"]').first().getAttribute('aria-label')).toMatch(
          /Latest: requests\/s: [\d.]+\/s/,
        );
        await screenshot(ui.page, 'traffic');

        // One model version: its own predictions, the URL says which.
        await ui.page.getByTestId('traffic-model').selectOption({ label: `${MODEL} v1` });
        await ui.page.waitForURL(/#\/traffic\?model=tagifai&version=1/);
        await ui.page.locator('figcaption', { hasText: `Prediction latency, ${MODEL} v1` }).waitFor();
        await waitUntil(ui.page, `${SCRIPT_NUMBER('card-predictions')} > 0`, 10_000);
        // Version 2 is not served: nothing of it.
        await ui.page.goto(`${server.url}/ui/#/traffic?model=${MODEL}&version=2`);
        await ui.page.getByTestId('traffic-cards').waitFor({ timeout: 15_000 });
        expect(await ui.page.getByTestId('card-predictions').textContent()).toBe('0/s');
      } finally {
        sending = false;
      }
      const statuses = await traffic;
      expect(statuses.length).toBeGreaterThanOrEqual(200);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  }, 120_000);

  it('fits a phone-width screen', async () => {
    const ui = await openUi(browser, { viewport: PHONE });
    try {
      await ui.page.goto(`${server.url}/ui/#/traffic`);
      await ui.page.getByTestId('traffic-cards').waitFor({ timeout: 15_000 });
      await ui.page.locator('.chart canvas').first().waitFor();
      const overflow = (await ui.page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(ui.page, 'traffic-phone');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  }, 60_000);

  it('renders the drift report of tagifai with reference vs current histograms, and the monitor loop', async () => {
    // The traffic of the first test is in the SQL log (written in the background): make sure of some.
    await sendTraffic(40);
    // The monitor loop (a tick every 3 s) sees the drifted window and stores the alert.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { alerts } = await server.admin<{ alerts: unknown[] }>('GET', `/v1/monitoring/${MODEL}/alerts`);
      if (alerts.length > 0) break;
      if (Date.now() > deadline) throw new Error('no alert stored in 30 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${server.url}/ui/#/monitoring`);
      await ui.page.getByRole('heading', { level: 1, name: 'Monitoring' }).waitFor();
      const report = ui.page.getByTestId('drift-report');
      await report.waitFor({ timeout: 30_000 });
      expect(await ui.page.getByTestId('report-version').textContent()).toBe(`${MODEL} v1`);
      expect(await ui.page.getByTestId('report-counts').textContent()).toMatch(/^[1-9][\d,]* requests/);
      expect(await ui.page.getByTestId('report-dataset').textContent()).toMatch(
        /of \d+ input columns drifted/,
      );
      const features = ui.page.getByTestId('report-features');
      for (const f of ['text_length', 'token_count']) {
        const row = features.locator(`tr[data-feature="${f}"]`);
        expect(await row.textContent()).toMatch(/(no drift|drifted)/);
        expect(await row.textContent()).toMatch(/ks|wasserstein/);
      }
      const outputs = ui.page.getByTestId('report-outputs');
      expect(await outputs.locator('tr[data-feature="predicted_label"]').textContent()).toMatch(
        /chi-square|jensen-shannon|z-test/,
      );
      // A histogram chart per compared feature, each with its table of shares.
      expect(await report.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
      await report.getByText('Values').first().click();
      expect(await report.locator('details[open] tbody tr').count()).toBeGreaterThan(0);
      // The monitor loop (serve --monitor, a tick every 3 s) has run.
      await ui.page.getByTestId('monitor-loop').waitFor({ timeout: 15_000 });
      await waitUntil(
        ui.page,
        `/^\\d{4}-/.test(document.querySelector('[data-testid="monitor-last-run"]')?.textContent ?? '')`,
        20_000,
      );
      const alert = ui.page.getByTestId('alerts').getByRole('row', { name: /ui-test-drift/ });
      expect(await alert.textContent()).toMatch(/critical.*v1: dataset_drift_share = [\d.]+ >= 0\.5.*firing/);
      await screenshot(ui.page, 'monitoring');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  }, 90_000);

  it('says clearly when the token is refused', async () => {
    const ui = await openUi(browser, { token: 'not-the-token' });
    try {
      await ui.page.goto(`${server.url}/ui/#/monitoring?model=${MODEL}`);
      const notice = ui.page.getByTestId('error-notice');
      await notice.waitFor({ timeout: 15_000 });
      expect(await notice.textContent()).toMatch(/The admin token is missing or was refused/);
      expect(await ui.page.getByTestId('drift-report').count()).toBe(0);
      expect(unexpectedErrors(ui.errors, [/Failed to load resource.*401/])).toEqual([]);
    } finally {
      await ui.close();
    }
  }, 60_000);
});
