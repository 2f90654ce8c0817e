/**
 * The dashboard's shell in a real browser: served at /ui by `ferry serve`, first paint fast, no
 * console errors, the token box, keyboard navigation, a phone-width layout, the server going away
 * and coming back, and every page of the navigation rendering.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchChromium,
  openUi,
  PHONE,
  RUN_BROWSER,
  screenshot,
  unexpectedErrors,
} from '../../helpers/browser.js';
import { spawnServe } from '../../helpers/serving.js';
import { ADMIN_TOKEN, startUiServer, type UiServer } from '../../helpers/ui-server.js';

describe.skipIf(!RUN_BROWSER)('dashboard shell in Chromium', () => {
  let server: UiServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startUiServer(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the overview at /ui with the server metadata, fast and without console errors', async () => {
    const ui = await openUi(browser);
    try {
      const started = Date.now();
      await ui.page.goto(`${server.url}/ui`);
      await ui.page.getByTestId('server-name').waitFor();
      const paint = (await ui.page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1",
      )) as number;
      expect(paint).toBeGreaterThan(0);
      // The target is under 1 s (bench/ui.ts measures it on a quiet machine); CI runs two test
      // files at once on 2 cores, where Chromium's own start competes with them.
      expect(paint).toBeLessThan(process.env.CI ? 3000 : 1000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await ui.page.getByTestId('server-name').textContent()).toMatch(/^ferry \d+\.\d+\.\d+/);
      await ui.page.getByTestId('server-ready').getByText('yes').waitFor();
      expect(await ui.page.getByText('Read-only and public: no token needed.').count()).toBe(1);
      await screenshot(ui.page, 'overview');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('keeps the admin token for the tab once entered, and forgets it on request', async () => {
    const ui = await openUi(browser);
    try {
      await ui.page.goto(`${server.url}/ui/`);
      await ui.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await ui.page.getByRole('button', { name: 'Use token' }).click();
      await ui.page.getByTestId('token-state').waitFor();
      expect(await ui.page.evaluate("sessionStorage.getItem('ferry.adminToken')")).toBe(ADMIN_TOKEN);
      await ui.page.reload();
      await ui.page.getByTestId('token-state').waitFor();
      await ui.page.getByRole('button', { name: 'Forget token' }).click();
      await ui.page.getByLabel('Admin token').waitFor();
      expect(await ui.page.evaluate("sessionStorage.getItem('ferry.adminToken')")).toBeNull();
    } finally {
      await ui.close();
    }
  });

  it('is navigable by keyboard: skip link, then every page of the navigation', async () => {
    const ui = await openUi(browser);
    try {
      await ui.page.goto(`${server.url}/ui/`);
      await ui.page.getByTestId('server-name').waitFor();
      await ui.page.keyboard.press('Tab');
      expect(await ui.page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
      const titles = [
        'Models',
        'Live traffic',
        'Experiments',
        'Monitoring',
        'Batch jobs',
        'Features and streams',
      ];
      for (const title of titles) {
        const link = ui.page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title });
        await link.focus();
        await ui.page.keyboard.press('Enter');
        await ui.page.getByRole('heading', { level: 1, name: title }).waitFor();
        expect(await link.getAttribute('aria-current')).toBe('page');
      }
      await ui.page.goto(`${server.url}/ui/#/no-such-page`);
      await ui.page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    } finally {
      await ui.close();
    }
  });

  it('fits a phone-width screen without sideways scrolling', async () => {
    const ui = await openUi(browser, { viewport: PHONE });
    try {
      await ui.page.goto(`${server.url}/ui/`);
      await ui.page.getByTestId('server-name').waitFor();
      const overflow = (await ui.page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(ui.page, 'overview-phone');
    } finally {
      await ui.close();
    }
  });

  it('says when the server goes away, retries, and recovers when it is back on the same port', async () => {
    const own = await startUiServer({ reg: server.reg });
    const ui = await openUi(browser);
    try {
      await ui.page.goto(`${own.url}/ui/`);
      await ui.page.getByTestId('server-name').waitFor();
      await own.close();
      const banner = ui.page.getByTestId('connection-banner');
      await banner.waitFor({ timeout: 20_000 });
      expect(await banner.textContent()).toMatch(/Lost contact with the Ferry server/);
      // The last figures stay on the page while it retries.
      expect(await ui.page.getByTestId('server-name').count()).toBe(1);
      const port = new URL(own.url).port;
      const back = spawnServe(server.reg.home, ['--port', port, '--prediction-log', 'off'], {
        FERRY_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      try {
        await back.address;
        await banner.waitFor({ state: 'detached', timeout: 20_000 });
      } finally {
        back.child.kill('SIGTERM');
        await back.exited;
      }
      expect(unexpectedErrors(ui.errors, [/Failed to load resource/])).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('is not served with ferry serve --no-ui (a 404), and says where it is when it is', async () => {
    expect(server.proc.stdout()).toMatch(/ferry serving; dashboard at \/ui/);
    const off = spawnServe(server.reg.home, ['--port', '0', '--prediction-log', 'off', '--no-ui']);
    try {
      const url = await off.address;
      const res = await fetch(`${url}/ui`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FERRY_HTTP_NOT_FOUND');
      expect(off.stdout()).not.toMatch(/dashboard at/);
    } finally {
      off.child.kill('SIGTERM');
      await off.exited;
    }
  });
});
