/**
 * The dashboard's Models page in a real browser against a real `ferry serve`: the versions with
 * their real metrics, a page at a time; promoting and rolling back through the confirmation dialog
 * (checked in the registry); the API's refusal shown in the dialog; a wrong token; HTML in an alias
 * reason and a tag shown as text; a phone-width layout.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersion } from '../../../src/registry/types.js';
import {
  launchChromium,
  openUi,
  PHONE,
  RUN_BROWSER,
  screenshot,
  unexpectedErrors,
} from '../../helpers/browser.js';
import { createTestRegistry, MODEL, type TestRegistry } from '../../helpers/serving.js';
import { ADMIN_TOKEN, startUiServer, type UiServer } from '../../helpers/ui-server.js';

const XSS = '<img src=x onerror=alert(1)>';
const TAG_HTML = '<b>bold</b><script>alert(2)</script>';
/** Versions 1 and 2 are trained; 3..27 are copies of version 1's artifact (content-addressed: cheap). */
const EXTRA = 25;
const TOTAL = 2 + EXTRA;
const FAILED_LOAD = /Failed to load resource/;

/** fmtNum(n, 4) of ui/src/format.ts for a value under 1. */
const f1Text = (n: number) => n.toLocaleString('en-US', { maximumSignificantDigits: 4 });

describe.skipIf(!RUN_BROWSER)('Models page in Chromium', () => {
  let reg: TestRegistry;
  let server: UiServer;
  let browser: Browser;

  beforeAll(async () => {
    reg = await createTestRegistry();
    const { version, bytes } = await reg.registry.loadArtifact(`${MODEL}/1`);
    for (let i = 0; i < EXTRA; i++) {
      await reg.registry.register(MODEL, bytes, {
        kind: version.kind,
        params: version.params,
        metrics: { ...version.metrics, val_f1: 0.6 + i / 1000 },
        dataset: version.dataset,
        tags: i === EXTRA - 1 ? { note: TAG_HTML } : { copy: String(i) },
        signature: version.signature,
        gitCommit: '0123456789abcdef0123456789abcdef01234567',
      });
    }
    // An alias whose only move carries HTML in its reason.
    await reg.registry.setAlias(MODEL, 'staging', 2, XSS);
    [server, browser] = await Promise.all([startUiServer({ reg }), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await reg?.close();
  });

  const versionsOf = async (query: string) =>
    server.admin<{ versions: ModelVersion[]; total: number }>('GET', `/v1/models/${MODEL}?${query}`);

  async function openModel(page: Page): Promise<void> {
    await page.goto(`${server.url}/ui/#/models/${MODEL}`);
    await page.getByTestId('versions-table').waitFor();
  }

  it('lists the models, then shows a model’s versions with their real metrics, a page at a time', async () => {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${server.url}/ui/#/models`);
      const list = ui.page.getByTestId('models-table');
      await list.waitFor();
      const row = list.getByRole('row', { name: new RegExp(`^${MODEL}`) });
      expect(await row.textContent()).toContain(String(TOTAL));
      expect(await row.textContent()).toContain('production → 1');
      await list.getByRole('link', { name: MODEL }).click();
      await ui.page.getByTestId('versions-table').waitFor();
      expect(ui.page.url()).toMatch(new RegExp(`#/models/${MODEL}$`));

      // First page: the 20 newest, with the metric the API has for each.
      const newest = await versionsOf('order=newest&limit=20');
      const rows = ui.page.getByTestId('versions-table').locator('tbody tr');
      expect(await rows.count()).toBe(20);
      for (const v of newest.versions.slice(0, 3)) {
        const cell = ui.page.getByTestId(`version-${v.version}`).getByTestId('val-f1');
        expect(await cell.textContent()).toBe(f1Text(v.metrics.val_f1 as number));
      }
      expect(await ui.page.getByRole('navigation', { name: 'Versions pages' }).textContent()).toContain(
        `1–20 of ${TOTAL}`,
      );
      await screenshot(ui.page, 'models');

      // Second page: versions 7..1, among them the two trained ones with their own F1.
      await ui.page
        .getByRole('navigation', { name: 'Versions pages' })
        .getByRole('button', { name: 'Next →' })
        .click();
      await ui.page.getByTestId('version-1').waitFor();
      expect(await rows.count()).toBe(TOTAL - 20);
      const oldest = await versionsOf('limit=2');
      for (const v of oldest.versions) {
        const f1 = v.metrics.val_f1 as number;
        expect(f1).toBeGreaterThan(0.5);
        expect(await ui.page.getByTestId(`version-${v.version}`).getByTestId('val-f1').textContent()).toBe(
          f1Text(f1),
        );
      }
      expect(await ui.page.getByTestId('version-1').textContent()).toContain('production');
      expect(await ui.page.getByTestId(`version-${TOTAL}`).count()).toBe(0);
      // The page is in the location: a deep link opens it, Previous goes back.
      expect(ui.page.url()).toMatch(new RegExp(`#/models/${MODEL}\\?versions=20$`));
      await ui.page.reload();
      await ui.page.getByTestId('version-1').waitFor();
      await ui.page
        .getByRole('navigation', { name: 'Versions pages' })
        .getByRole('button', { name: '← Previous' })
        .click();
      await ui.page.getByTestId(`version-${TOTAL}`).waitFor();
      expect(await ui.page.getByTestId('version-1').count()).toBe(0);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('shows HTML in an alias reason and in a tag as text, creating no element', async () => {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      const alerts: string[] = [];
      ui.page.on('dialog', (d) => {
        alerts.push(d.message());
        void d.dismiss();
      });
      await openModel(ui.page);
      const reasons = ui.page.getByTestId('history-reason');
      await reasons.first().waitFor();
      expect(await reasons.allTextContents()).toContain(XSS);
      expect(await ui.page.getByTestId(`version-${TOTAL}`).textContent()).toContain(TAG_HTML);
      // The rollback dialog quotes the last move's reason: as text too.
      await ui.page.getByRole('button', { name: 'Roll back staging…' }).click();
      const dialog = ui.page.getByRole('dialog');
      await dialog.getByText('has no earlier version').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      expect(await ui.page.locator('main img, main script, main b').count()).toBe(0);
      expect(alerts).toEqual([]);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('promotes version 2 through the dialog, then rolls it back; the registry agrees each time', async () => {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await openModel(ui.page);
      expect(await reg.production()).toBe(1);
      const open = ui.page.getByRole('button', { name: 'Promote to production…' });
      await open.focus();
      await ui.page.keyboard.press('Enter');
      const dialog = ui.page.getByRole('dialog', { name: `Promote ${MODEL} to production` });
      await dialog.waitFor();
      // Preset to the newest version; the labelled input takes another.
      expect(await dialog.getByLabel('Version').inputValue()).toBe(String(TOTAL));
      await dialog.getByLabel('Version').fill('2');
      expect(await dialog.getByTestId('move-summary').textContent()).toContain(`${MODEL}@production: 1 → 2`);
      await dialog.getByLabel(/^Reason/).fill('better on the new data');
      await screenshot(ui.page, 'models-promote-dialog');
      await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
      await ui.page.getByTestId('action-done').getByText('production: 1 → 2').waitFor();
      expect(await dialog.isVisible()).toBe(false);

      expect(await reg.production()).toBe(2);
      const [v2] = (await versionsOf('limit=1&offset=1')).versions;
      expect(v2).toMatchObject({ version: 2, aliases: ['production', 'staging'] });
      const history = await server.admin<{
        events: { reason: string; fromVersion: number; toVersion: number }[];
      }>('GET', `/v1/models/${MODEL}/aliases?alias=production&limit=1`);
      expect(history.events[0]).toMatchObject({
        fromVersion: 1,
        toVersion: 2,
        reason: 'better on the new data',
      });
      await ui.page.getByTestId('history-reason').getByText('better on the new data').waitFor();

      // Roll back: the dialog says where to, the API does it.
      await ui.page.getByRole('button', { name: 'Roll back production…' }).click();
      const back = ui.page.getByRole('dialog', { name: `Roll back ${MODEL}@production` });
      await back.getByText(`${MODEL}@production: 2 → 1`).waitFor();
      await back.getByRole('button', { name: 'Roll back', exact: true }).click();
      await ui.page.getByTestId('action-done').getByText('Rolled back').waitFor();
      expect(await reg.production()).toBe(1);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it("shows the API's refusal inside the dialog and moves nothing; Escape closes it", async () => {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await openModel(ui.page);
      await ui.page.getByRole('button', { name: 'Move alias…' }).click();
      const dialog = ui.page.getByRole('dialog');
      await dialog.getByLabel('Alias', { exact: true }).fill('production');
      await dialog.getByLabel('Version').fill('999');
      await dialog.getByRole('button', { name: 'Move alias' }).click();
      const error = dialog.getByTestId('error-notice');
      await error.waitFor();
      expect(await error.textContent()).toMatch(/has no version 999/);
      await dialog.getByLabel('Alias', { exact: true }).fill('Not An Alias');
      await dialog.getByLabel('Version').fill('2');
      await dialog.getByRole('button', { name: 'Move alias' }).click();
      await dialog
        .getByRole('alert')
        .getByText(/lower-case letters/)
        .waitFor();
      await ui.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      expect(await reg.production()).toBe(1);

      // What the dialog shows is what happens: if production moves behind the page's back, the
      // server refuses (409), the dialog says so and shows where the alias is now.
      await ui.page.getByRole('button', { name: 'Promote to production…' }).click();
      await dialog.getByLabel('Version').fill('2');
      await dialog.getByText(`${MODEL}@production: 1 → 2`).waitFor();
      await reg.setAlias(3);
      await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
      expect(await error.textContent()).toMatch(
        /points at 3 now, not 1.*FERRY_REGISTRY_ALIAS_MOVED, HTTP 409/,
      );
      await dialog.getByText(`${MODEL}@production: 3 → 2`).waitFor();
      expect(await reg.production()).toBe(3);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await reg.setAlias(1);
      expect(unexpectedErrors(ui.errors, [FAILED_LOAD])).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('says clearly when the token is wrong or missing, and when the model does not exist', async () => {
    for (const token of ['wrong', undefined]) {
      const ui = await openUi(browser, token === undefined ? {} : { token });
      try {
        await ui.page.goto(`${server.url}/ui/#/models`);
        const notice = ui.page.getByTestId('error-notice');
        await notice.waitFor();
        expect(await notice.textContent()).toMatch(/admin token is missing or was refused/);
        expect(await ui.page.getByText('Needs the admin token').count()).toBe(1);
        await ui.page.goto(`${server.url}/ui/#/models/${MODEL}`);
        await ui.page.getByTestId('model-name').waitFor();
        expect(await ui.page.getByTestId('error-notice').textContent()).toMatch(/admin token/);
        expect(unexpectedErrors(ui.errors, [FAILED_LOAD])).toEqual([]);
      } finally {
        await ui.close();
      }
    }
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${server.url}/ui/#/models/nope`);
      const notice = ui.page.getByTestId('error-notice');
      await notice.waitFor();
      expect(await notice.textContent()).toMatch(/no model named "nope"/);
      expect(unexpectedErrors(ui.errors, [FAILED_LOAD])).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('fits a phone-width screen: the page does not scroll sideways (the tables do)', async () => {
    const ui = await openUi(browser, { token: ADMIN_TOKEN, viewport: PHONE });
    try {
      await openModel(ui.page);
      const overflow = (await ui.page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )) as number;
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(ui.page, 'models-phone');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });
});
