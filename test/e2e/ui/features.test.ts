/**
 * The Features and streams page in Chromium, on a real `ferry serve` whose feature repository was
 * applied and materialized with the CLI, and whose stream was fed through the HTTP API and read by
 * a real `ferry stream run`: freshness (and a stale view), lag in events and time, a dead letter
 * with its reason, its payload shown as text; a refused token; a server with nothing configured.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFerry, type Spawned, spawnFerry } from '../../features/cli.js';
import {
  LAPTOP,
  launchChromium,
  openUi,
  PHONE,
  RUN_BROWSER,
  screenshot,
  unexpectedErrors,
} from '../../helpers/browser.js';
import { createTestRegistry, type TestRegistry } from '../../helpers/serving.js';
import { ADMIN_TOKEN, startUiServer, type UiServer } from '../../helpers/ui-server.js';
import { waitFor } from '../../streams/helpers.js';

const STREAMS_TOKEN = 'streams-token-0123456789';
const HOUR = 3_600_000;
const XSS = '<img src=x onerror=alert(1)>';

const DEFINITIONS = {
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  sources: [
    { name: 'profiles', kind: 'file', path: 'profiles.csv', timestampField: 'updated_at' },
    { name: 'clicks_src', kind: 'stream', stream: 'clicks', timestampField: 'at' },
  ],
  views: [
    {
      name: 'user_profile',
      entities: ['user'],
      source: 'profiles',
      ttl: '30d',
      schema: [{ name: 'country', type: 'string' }],
      transform: { kind: 'row' },
    },
    {
      name: 'user_profile_hourly',
      entities: ['user'],
      source: 'profiles',
      ttl: '1h',
      schema: [{ name: 'country', type: 'string' }],
      transform: { kind: 'row' },
    },
    {
      name: 'last_click',
      entities: ['user'],
      source: 'clicks_src',
      ttl: '1d',
      schema: [
        { name: 'page', type: 'string' },
        { name: 'amount', type: 'float64' },
      ],
      transform: { kind: 'row' },
    },
  ],
  pipelines: [{ name: 'clicks', source: 'clicks_src', views: ['last_click'], sinks: [{ kind: 'online' }] }],
};

describe.skipIf(!RUN_BROWSER)('Features and streams page in Chromium', () => {
  const now = Date.now();
  let reg: TestRegistry;
  let server: UiServer;
  let browser: Browser;
  let env: Record<string, string | undefined>;

  const publish = async (events: object[]) => {
    const r = await fetch(`${server.url}/v1/streams/clicks/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${STREAMS_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(r.status, await r.clone().text()).toBe(202);
  };
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
  const streamStatus = async (): Promise<any> =>
    (
      await fetch(`${server.url}/v1/streams/status`, {
        headers: { authorization: `Bearer ${STREAMS_TOKEN}` },
      })
    ).json();

  beforeAll(async () => {
    [reg, browser] = await Promise.all([createTestRegistry({ versions: [{ seed: 42 }] }), launchChromium()]);
    env = {
      FERRY_HOME: reg.home,
      FERRY_DB: undefined,
      FERRY_ONLINE_STORE: undefined,
      FERRY_STREAM_URL: undefined,
      FERRY_FEATURES_FILE: undefined,
      FERRY_LOG_FORMAT: 'json',
    };
    writeFileSync(join(reg.home, 'package.json'), '{}');
    writeFileSync(join(reg.home, 'features.json'), JSON.stringify(DEFINITIONS, null, 2));
    writeFileSync(
      join(reg.home, 'profiles.csv'),
      `user_id,updated_at,country\nu1,${new Date(now - 3 * HOUR).toISOString()},FR\nu2,${new Date(now - 2 * HOUR).toISOString()},DE\n`,
    );
    let r = await runFerry(['features', 'apply', '--yes'], env, reg.home);
    expect(r.code, r.stderr).toBe(0);
    r = await runFerry(['features', 'materialize', '--json'], env, reg.home);
    expect(r.code, r.stderr).toBe(0);
    server = await startUiServer({ reg, env: { FERRY_STREAMS_TOKEN: STREAMS_TOKEN } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await reg?.close();
  });

  it('shows freshness, lag and dead letters as the server reports them, the payload as text', async () => {
    await publish([
      { id: 'e1', user_id: 'u1', at: now - 50 * 60_000, page: 'home', amount: 1 },
      { id: 'e2', user_id: 'u2', at: now - 40 * 60_000, page: 'cart', amount: 2.5 },
      { id: 'e3', user_id: 'u1', at: now - 30 * 60_000, page: XSS, amount: 'lots' },
    ]);
    let run: Spawned | undefined = spawnFerry(['stream', 'run', 'clicks'], env, reg.home);
    const ui = await openUi(browser, { token: STREAMS_TOKEN });
    const dialogs: string[] = [];
    ui.page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    try {
      await waitFor(
        async () => {
          const s = (await streamStatus()).streams?.[0];
          return (
            s?.dead_letters === 1 && s.readers[0]?.lag_events === 0 && s.readers[0]?.pipeline?.processed === 2
          );
        },
        'the pipeline to catch up',
        60_000,
      );
      run.kill('SIGTERM');
      expect((await run.exited).code, run.output().stderr).toBe(0);
      run = undefined;

      await ui.page.goto(`${server.url}/ui/#/features`);
      const { page } = ui;
      await page.getByRole('heading', { level: 1, name: 'Features and streams' }).waitFor();
      expect(await page.getByText('Needs the admin token').count()).toBe(1);

      // Freshness: two hours old, within 30 days, past one hour.
      const profile = page.getByTestId('view-user_profile');
      await profile.waitFor();
      expect(await profile.getByTestId('freshness').textContent()).toMatch(/^2 h( [0-5]?\d min)? old fresh$/);
      expect(await profile.textContent()).toContain('full, finished');
      expect(await profile.textContent()).toContain('2 rows read');
      const hourly = page.getByTestId('view-user_profile_hourly');
      expect(await hourly.getByTestId('stale-badge').textContent()).toBe('stale');
      expect(await page.getByTestId('stale-badge').count()).toBe(1);
      // The stream view's newest values came from the pipeline: 40 minutes old.
      const click = page.getByTestId('view-last_click');
      expect(await click.getByTestId('freshness').textContent()).toMatch(/^(40|41) min old fresh$/);
      expect(await click.textContent()).toContain('streamed by clicks');

      // The stream: caught up, one dead letter with its reason; its payload is text, no <img>.
      const reader = page.getByTestId('reader-clicks');
      await reader.waitFor();
      expect(await reader.getByTestId('lag-events').textContent()).toBe('0');
      expect(await reader.getByTestId('lag-time').textContent()).toBe('caught up');
      const dead = page.getByTestId('dead-letter');
      expect(await dead.count()).toBe(1);
      expect(await dead.getByTestId('dead-letter-reason').textContent()).toMatch(
        /amount: "lots" is not a float64/,
      );
      expect(await dead.getByTestId('dead-letter-payload').textContent()).toContain(XSS);
      expect(await dead.textContent()).toContain('id e3');
      expect(await page.locator('img').count()).toBe(0);
      await screenshot(page, 'features');
      // A phone-width screen: the tables scroll inside their frames, the page does not sideways.
      await page.setViewportSize(PHONE);
      const overflow = (await page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'features-phone');
      await page.setViewportSize(LAPTOP);

      // Events the stopped pipeline has not read: the next poll shows the lag, in events and time.
      await publish([
        { id: 'e4', user_id: 'u2', at: now - 20 * 60_000, page: 'home', amount: 3 },
        { id: 'e5', user_id: 'u1', at: now - 10 * 60_000, page: 'cart', amount: 4 },
      ]);
      await reader.getByTestId('lag-events').getByText('2', { exact: true }).waitFor({ timeout: 15_000 });
      expect(await reader.getByTestId('lag-time').textContent()).toMatch(/^(40|41) min$/);
      expect(dialogs).toEqual([]);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      run?.kill('SIGTERM');
      await ui.close();
    }
  }, 120_000);

  it('says plainly when the token is refused', async () => {
    const ui = await openUi(browser, { token: 'wrong-token-0123456789' });
    try {
      await ui.page.goto(`${server.url}/ui/#/features`);
      const notices = ui.page.getByTestId('error-notice');
      await notices.first().waitFor();
      await expect.poll(() => notices.count()).toBe(2);
      for (const text of await notices.allTextContents()) {
        expect(text).toMatch(/token is missing or was refused \(missing or wrong bearer token\)/);
      }
      expect(await ui.page.getByTestId('view-user_profile').count()).toBe(0);
      expect(unexpectedErrors(ui.errors, [/Failed to load resource.*401/])).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('says so when the server has no feature definitions and no stream', async () => {
    const bare = await startUiServer({ reg: await createTestRegistry({ versions: [{ seed: 7 }] }) });
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${bare.url}/ui/#/features`);
      await ui.page.getByTestId('features-none').waitFor();
      expect(await ui.page.getByTestId('features-none').textContent()).toContain(
        'No feature repository on this server',
      );
      await ui.page.getByTestId('streams-none').waitFor();
      expect(await ui.page.getByTestId('streams-none').textContent()).toContain('No streams on this server');
      expect(await ui.page.getByTestId('error-notice').count()).toBe(0);
      expect(unexpectedErrors(ui.errors, [/Failed to load resource.*404/])).toEqual([]);
    } finally {
      await ui.close();
      await bare.close();
      await bare.reg.close();
    }
  }, 60_000);
});
