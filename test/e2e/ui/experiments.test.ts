/**
 * The Experiments pages in a real browser against a real `ferry serve` (tagifai 1 and 2, production
 * → 1): an A/B test with real exposures and conversions, a canary walking its steps, a shadow test,
 * a bandit; actions through the page (pause, resume, conclude, abort) checked in the API; HTML in a
 * description shown as text; an experiment deleted while its page is open; 60 more experiments a
 * page at a time. Every test makes its own experiments (names are never reused), so a retry works.
 */
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchChromium,
  openUi,
  PHONE,
  RUN_BROWSER,
  screenshot,
  type UiPage,
  unexpectedErrors,
} from '../../helpers/browser.js';
import { MODEL, PROJECTS } from '../../helpers/serving.js';
import { ADMIN_TOKEN, startUiServer, type UiServer } from '../../helpers/ui-server.js';

interface Experiment {
  name: string;
  type: string;
  status: string;
  weights: number[];
  conclusion: { winner: string | null; reason?: string; outcome?: string } | null;
}
interface Analysis {
  experiment: Experiment;
  units: number;
  arms: {
    name: string;
    units: number;
    metrics: Record<string, { units: number; conversions?: number; rate?: number | null }>;
  }[];
  comparisons: {
    arm: string;
    metric: string;
    pValue?: number;
    chanceToBeatControl?: number;
    pValueHolm?: number;
    pValueBh?: number;
    difference?: number;
    differenceCi?: [number, number];
  }[];
  power?: { unitsPerArm: number };
  srm: { mismatch: boolean } | null;
  canary?: { status: string; history: { action: string; reason: string; weight: number }[] };
  shadow?: {
    report: { compared: number; agreement: number | null; confusion: Record<string, Record<string, number>> };
  };
  bandit?: { history: { weights: number[] }[]; weights: number[] };
}

const INPUTS = Object.values(PROJECTS);
const XSS = '<img src=x onerror=alert(1)>';

describe.skipIf(!RUN_BROWSER)('Experiments pages in Chromium', () => {
  let server: UiServer;
  let browser: Browser;
  let serial = 0;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startUiServer({
        args: ['--cache', 'off'],
        env: {
          FERRY_CANARY_EVALUATE_MS: '100',
          FERRY_EXPERIMENT_POLL_MS: '200',
          FERRY_SHADOW_FLUSH_MS: '200',
        },
      }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A name never used before in this server (a retried test makes new ones). */
  const uniq = (base: string) => `${base}-${++serial}-${Math.random().toString(36).slice(2, 6)}`;
  const get = <T>(path: string) => server.admin<T>('GET', path);
  const analysis = (name: string) => get<Analysis>(`/v1/experiments/${name}`);

  /** One routing experiment per model: stops whatever runs or is paused, shadows included. */
  async function stopActive(): Promise<void> {
    const { experiments } = await get<{ experiments: Experiment[] }>('/v1/experiments?status=running,paused');
    for (const e of experiments) await server.admin('POST', `/v1/experiments/${e.name}/stop`);
  }

  async function create(body: Record<string, unknown>): Promise<Experiment> {
    return (await server.admin<{ experiment: Experiment }>('POST', '/v1/experiments', body)).experiment;
  }

  /** POST /predict as `unit` (none: unrouted); returns the arm that answered. */
  async function predict(i: number, unit?: string): Promise<string | undefined> {
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(unit !== undefined ? { 'x-ferry-unit': unit } : {}),
      },
      body: JSON.stringify(INPUTS[i % INPUTS.length]),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return res.headers.get('x-ferry-arm') ?? undefined;
  }

  async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not after ${ms} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function open(path: string): Promise<UiPage> {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    await ui.page.goto(`${server.url}/ui/#/${path}`);
    return ui;
  }

  const dialogButton = (page: Page, name: string) =>
    page.getByRole('dialog').getByRole('button', { name, exact: true });

  /** Runs an action from the detail page: its button, then the confirmation's. */
  async function act(page: Page, label: string, fill?: (page: Page) => Promise<void>): Promise<void> {
    await page.getByRole('button', { name: label, exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await fill?.(page);
    await dialogButton(page, label).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
  }

  /** An A/B test with real exposures (80 units) and conversions: treatment converts more. */
  async function abWithEvents(name: string, description?: string): Promise<Analysis> {
    await stopActive();
    await create({
      name,
      type: 'ab',
      model: MODEL,
      arms: [
        { name: 'control', version: 1, weight: 0.5 },
        { name: 'treatment', version: 2, weight: 0.5 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
      power: { baseline: 0.2, mde: 0.5, relative: true },
      ...(description !== undefined ? { description } : {}),
    });
    const events = [];
    for (let i = 0; i < 80; i++) {
      const unit = `${name}-user-${i}`;
      const arm = await predict(i, unit);
      expect(arm === 'control' || arm === 'treatment').toBe(true);
      if (i % (arm === 'treatment' ? 2 : 5) === 0) {
        events.push({ unit, metric: 'accepted', value: 1, event_id: `${name}-e-${i}` });
      }
    }
    await server.admin('POST', `/v1/experiments/${name}/events`, { events });
    const a = await analysis(name);
    expect(a.units).toBe(80);
    return a;
  }

  const pct2 = (r: number) => `${(r * 100).toFixed(2)} %`;
  const pp = (d: number) => `${d > 0 ? '\\+' : d < 0 ? '−' : ''}${(Math.abs(d) * 100).toFixed(2)} pp`;
  const p4 = (p: number) => (p < 1e-4 ? '< 0.0001' : p.toFixed(4));

  it('lists an A/B test and shows its real figures: rates with intervals, lift, p-values, SRM, power', async () => {
    const name = uniq('ab-checkout');
    const a = await abWithEvents(name, 'Does version 2 get more tags accepted?');
    const ui = await open('experiments');
    try {
      const row = ui.page.getByTestId('experiment-row').filter({ hasText: name });
      await row.waitFor();
      expect(await row.getByRole('cell').nth(1).textContent()).toBe('A/B test');
      expect(await row.getByRole('cell').nth(2).textContent()).toBe('running');
      // The progress against the power estimate's need, from the analysis.
      const need = a.power!.unitsPerArm.toLocaleString('en-US');
      await row.getByTestId('experiment-progress').getByText(`of ${need} units per arm`).waitFor();
      await screenshot(ui.page, 'experiments');

      await row.getByRole('link', { name }).click();
      await ui.page.getByTestId('experiment-status').getByText('running').waitFor();
      const table = ui.page.getByTestId('metric-table-accepted');
      await table.waitFor();
      for (const arm of a.arms) {
        const m = arm.metrics.accepted!;
        const tr = table.getByRole('row').filter({ has: ui.page.getByRole('rowheader', { name: arm.name }) });
        const cells = await tr.getByRole('cell').allTextContents();
        expect(cells[0]).toBe(String(m.units));
        expect(cells[1]).toBe(String(m.conversions));
        expect(cells[2]).toBe(pct2(m.rate!));
        // A Wilson interval around the rate.
        expect(cells[3]).toMatch(/^\[\d+\.\d\d %, \d+\.\d\d %\]$/);
      }
      const c = a.comparisons.find((x) => x.arm === 'treatment' && x.metric === 'accepted')!;
      const treatment = await table
        .getByRole('row')
        .filter({ has: ui.page.getByRole('rowheader', { name: 'treatment' }) })
        .getByRole('cell')
        .allTextContents();
      // The difference of rates in percentage points, with its interval, then the relative lift.
      const [lo, hi] = c.differenceCi!;
      expect(treatment[4]).toMatch(new RegExp(`^${pp(c.difference!)} \\[${pp(lo)}, ${pp(hi)}\\]relative `));
      expect(treatment[5]).toBe(p4(c.pValue!));
      expect(treatment[7]).toBe(`${p4(c.pValueHolm!)} / ${p4(c.pValueBh!)}`);
      expect(treatment[8]).toBe(`${(c.chanceToBeatControl! * 100).toFixed(1)} %`);
      expect(await ui.page.getByTestId('srm').textContent()).toMatch(
        a.srm!.mismatch ? /Sample ratio mismatch/ : /Sample ratio as expected/,
      );
      const progress = ui.page.locator('progress#exp-power-progress');
      expect(await progress.getAttribute('max')).toBe(String(a.power!.unitsPerArm));
      expect(Number(await progress.getAttribute('value'))).toBe(
        Math.min(...a.arms.map((x) => x.metrics.accepted!.units)),
      );
      expect(await ui.page.getByLabel(/Units so far vs needed/).count()).toBe(1);
      await screenshot(ui.page, 'experiment-ab');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('pauses, resumes and concludes from the page, each confirmed, and the API follows', async () => {
    const name = uniq('ab-actions');
    await abWithEvents(name);
    const ui = await open(`experiments/${name}`);
    try {
      const status = ui.page.getByTestId('experiment-status');
      await status.getByText('running').waitFor();
      // Cancelling changes nothing: by the button, or by keyboard (Enter opens, Escape cancels).
      await ui.page.getByRole('button', { name: 'Pause', exact: true }).click();
      await dialogButton(ui.page, 'Cancel').click();
      await ui.page.getByRole('button', { name: 'Pause', exact: true }).focus();
      await ui.page.keyboard.press('Enter');
      await ui.page.getByRole('dialog').waitFor();
      await ui.page.keyboard.press('Escape');
      await ui.page.getByRole('dialog').waitFor({ state: 'hidden' });
      expect((await analysis(name)).experiment.status).toBe('running');
      // Only the actions valid now are offered.
      expect(await ui.page.getByRole('button', { name: 'Resume', exact: true }).count()).toBe(0);
      expect(await ui.page.getByRole('button', { name: 'Promote', exact: true }).count()).toBe(0);

      await act(ui.page, 'Pause');
      await status.getByText('paused').waitFor();
      expect((await analysis(name)).experiment.status).toBe('paused');
      await act(ui.page, 'Resume');
      await status.getByText('running').waitFor();
      expect((await analysis(name)).experiment.status).toBe('running');

      await act(ui.page, 'Conclude', async (page) => {
        await page.getByLabel('Winner').selectOption('treatment');
        await page.getByLabel('Reason (recorded)').fill(`more accepted tags ${XSS}`);
      });
      await status.getByText('concluded').waitFor();
      const after = (await analysis(name)).experiment;
      expect(after.status).toBe('concluded');
      expect(after.conclusion).toMatchObject({ winner: 'treatment', reason: `more accepted tags ${XSS}` });
      expect(await ui.page.getByTestId('experiment-conclusion').textContent()).toContain(XSS);
      expect(await ui.page.getByTestId('experiment-verdict').textContent()).toBe('winner: treatment');
      expect(await ui.page.locator('main img').count()).toBe(0);
      expect(await ui.page.getByText('No actions: the experiment has ended.').count()).toBe(1);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it("shows a canary's steps on a timeline with each decision and its reason, then aborts another from the page", async () => {
    await stopActive();
    const production = (await server.reg.production())!;
    const candidate = production === 1 ? 2 : 1;
    const name = uniq('canary-walk');
    await create({
      name,
      type: 'canary',
      model: MODEL,
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'canary', version: candidate },
      ],
      canary: {
        steps: [0.2, 0.5, 1],
        minRequestsPerStep: 5,
        minStepDurationMs: 0,
        thresholds: { maxDistributionDistance: 1, maxP99Ratio: 1000, minP99IncreaseMs: 1000 },
      },
    });
    let i = 0;
    await until(`${name} concluded`, async () => {
      for (let k = 0; k < 10; k++, i++) await predict(i, `${name}-u-${i}`);
      return (await analysis(name)).experiment.status === 'concluded';
    });
    const a = await analysis(name);
    expect(a.canary!.history.map((h) => h.action)).toEqual(['start', 'step', 'step', 'promote']);

    const ui = await open(`experiments/${name}`);
    try {
      const timeline = ui.page.getByTestId('canary-timeline');
      await timeline.waitFor();
      const items = await timeline.getByRole('listitem').allTextContents();
      expect(items).toHaveLength(4);
      expect(items[0]).toMatch(/started, canary at 20 %/);
      expect(items[1]).toMatch(/stepped up, canary at 50 %: .*healthy at step 1 of 3/);
      expect(items[3]).toMatch(/promoted, canary at 100 %/);
      for (const [k, h] of a.canary!.history.entries()) expect(items[k]).toContain(h.reason);
      expect(await ui.page.getByTestId('canary-status').textContent()).toBe('promoted');
      expect(await ui.page.getByTestId('experiment-verdict').textContent()).toBe('promoted: canary won');
      await screenshot(ui.page, 'experiment-canary');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }

    // Another canary that waits (a minute per step): abort it from the page.
    const now = (await server.reg.production())!;
    const waiting = uniq('canary-abort');
    await create({
      name: waiting,
      type: 'canary',
      model: MODEL,
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'canary', version: now === 1 ? 2 : 1 },
      ],
      canary: { steps: [0.1, 1], minRequestsPerStep: 1000, minStepDurationMs: 600_000 },
    });
    const ui2 = await open(`experiments/${waiting}`);
    try {
      await ui2.page.getByTestId('canary-timeline').getByRole('listitem').first().waitFor();
      expect(await ui2.page.getByRole('button', { name: 'Conclude', exact: true }).count()).toBe(0);
      await act(ui2.page, 'Abort', (page) => page.getByLabel('Reason (recorded)').fill('not today'));
      await ui2.page.getByTestId('experiment-status').getByText('concluded').waitFor();
      const e = (await analysis(waiting)).experiment;
      expect(e.conclusion).toMatchObject({ outcome: 'aborted', winner: 'production' });
      await ui2.page
        .getByTestId('canary-timeline')
        .getByText(/aborted/)
        .waitFor();
      expect(unexpectedErrors(ui2.errors)).toEqual([]);
    } finally {
      await ui2.close();
    }
  });

  it("shows a shadow test's report: agreement, confusion matrix, latency of both", async () => {
    await stopActive();
    const production = (await server.reg.production())!;
    const name = uniq('shadow');
    await create({
      name,
      type: 'shadow',
      model: MODEL,
      arms: [
        { name: 'production', alias: 'production' },
        { name: 'candidate', version: production === 1 ? 2 : 1 },
      ],
    });
    let i = 0;
    await until(`${name} compared 30 items`, async () => {
      for (let k = 0; k < 10; k++, i++) await predict(i);
      return ((await analysis(name)).shadow?.report.compared ?? 0) >= 30;
    });
    const ui = await open(`experiments/${name}`);
    try {
      const agreement = ui.page.getByTestId('shadow-agreement');
      await agreement.waitFor();
      const a = await analysis(name);
      const r = a.shadow!.report;
      expect(await agreement.textContent()).toBe(`${(r.agreement! * 100).toFixed(1)} %`);
      const matrix = ui.page.getByTestId('shadow-confusion');
      const prodLabels = Object.keys(r.confusion).sort();
      expect(await matrix.getByRole('rowheader').allTextContents()).toEqual(prodLabels);
      expect((await matrix.getByRole('columnheader').allTextContents()).length).toBeGreaterThan(1);
      let total = 0;
      for (const cell of await matrix.getByRole('cell').allTextContents())
        total += Number(cell.replace(/,/g, ''));
      expect(total).toBeGreaterThanOrEqual(r.compared);
      const latency = await ui.page.getByTestId('shadow-latency').getByRole('rowheader').allTextContents();
      expect(latency).toEqual(['production', 'shadow']);
      expect(await ui.page.getByTestId('shadow-latency').getByText(/ms$/).count()).toBeGreaterThanOrEqual(4);
      await screenshot(ui.page, 'experiment-shadow');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
    await server.admin('POST', `/v1/experiments/${name}/stop`);
  });

  it("draws a bandit's weights over time from its weights history", async () => {
    await stopActive();
    const name = uniq('bandit');
    await create({
      name,
      type: 'bandit',
      model: MODEL,
      arms: [
        { name: 'v1', version: 1 },
        { name: 'v2', version: 2 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
      bandit: { policy: 'thompson', floor: 0.1, minUnitsPerArm: 10, updateEveryMs: 1 },
    });
    const events = [];
    for (let i = 0; i < 60; i++) {
      const unit = `${name}-u-${i}`;
      const arm = await predict(i, unit);
      if (arm === 'v2' || i % 10 === 0)
        events.push({ unit, metric: 'accepted', value: 1, event_id: `${name}-${i}` });
    }
    await server.admin('POST', `/v1/experiments/${name}/events`, { events });
    await until(`${name} reweighted`, async () => ((await analysis(name)).bandit?.history.length ?? 0) >= 2);
    const ui = await open(`experiments/${name}`);
    try {
      await ui.page.getByTestId('bandit-weights').waitFor();
      const chart = ui.page.getByRole('img', { name: /^Weights over time\. Latest: v1: .*; v2: / });
      await chart.waitFor();
      expect(await ui.page.locator('figure.chart canvas').count()).toBe(1);
      expect(await ui.page.getByTestId('srm').textContent()).toMatch(/weights changed/);
      await screenshot(ui.page, 'experiment-bandit');
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
    await server.admin('POST', `/v1/experiments/${name}/stop`);
  });

  it('fits a phone-width screen: the tables scroll inside their boxes, not the page', async () => {
    const name = uniq('phone');
    await abWithEvents(name);
    for (const path of ['experiments', `experiments/${name}`]) {
      const ui = await openUi(browser, { token: ADMIN_TOKEN, viewport: PHONE });
      try {
        await ui.page.goto(`${server.url}/ui/#/${path}`);
        await ui.page.locator('.table-wrap table').first().waitFor();
        const overflow = (await ui.page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        )) as number;
        expect(overflow, path).toBeLessThanOrEqual(0);
        expect(unexpectedErrors(ui.errors)).toEqual([]);
      } finally {
        await ui.close();
      }
    }
  });

  it('shows HTML in a description as text, in the list and on the page, and creates no element from it', async () => {
    await stopActive();
    const name = uniq('xss');
    await create({
      name,
      type: 'ab',
      model: MODEL,
      arms: [
        { name: 'a', version: 1 },
        { name: 'b', version: 2 },
      ],
      metrics: [{ name: 'clicked', kind: 'binary' }],
      description: XSS,
    });
    const ui = await open('experiments');
    let alerted = false;
    ui.page.on('dialog', (d) => {
      alerted = true;
      void d.dismiss();
    });
    try {
      const row = ui.page.getByTestId('experiment-row').filter({ hasText: name });
      await row.waitFor();
      expect(await row.getByText(XSS, { exact: true }).count()).toBe(1);
      expect(await ui.page.locator('main img').count()).toBe(0);
      await row.getByRole('link', { name }).click();
      const description = ui.page.getByTestId('experiment-description');
      await description.waitFor();
      expect(await description.textContent()).toBe(XSS);
      expect(await ui.page.locator('img').count()).toBe(0);
      expect(alerted).toBe(false);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('creates an experiment from the form: checks it first, shows the API refusal, then opens the new one', async () => {
    await stopActive();
    const ui = await open('experiments');
    try {
      await ui.page.getByRole('button', { name: 'New experiment' }).click();
      // Checked before sending: a name the API would refuse.
      await ui.page.getByLabel('Name', { exact: true }).fill('bad name!');
      await ui.page.getByRole('button', { name: 'Create experiment' }).click();
      expect(await ui.page.getByTestId('create-invalid').textContent()).toMatch(/name: 1 to 100 letters/);
      // Sent, refused by the API: a version that does not exist.
      const name = uniq('from-form');
      await ui.page.getByLabel('Name', { exact: true }).fill(name);
      await ui.page.getByLabel('Arm 2 version or alias').fill('99');
      await ui.page.getByRole('button', { name: 'Create experiment' }).click();
      const refusal = ui.page.getByTestId('error-notice');
      await refusal.waitFor();
      expect(await refusal.textContent()).toMatch(/FERRY_\w+, HTTP 4\d\d/);
      await expect(get(`/v1/experiments/${name}`)).rejects.toThrow(/404/);
      await ui.page.getByLabel('Arm 2 version or alias').fill('2');
      await ui.page.getByRole('button', { name: 'Create experiment' }).click();
      await ui.page.getByTestId('experiment-name').getByText(name).waitFor();
      const e = (await analysis(name)).experiment;
      expect(e).toMatchObject({ type: 'ab', status: 'running', weights: [0.5, 0.5] });
      expect(
        unexpectedErrors(ui.errors, [/Failed to load resource: the server responded with a status of 4\d\d/]),
      ).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('says so when the experiment on the page is deleted', async () => {
    await stopActive();
    const name = uniq('doomed');
    await create({
      name,
      type: 'ab',
      model: MODEL,
      arms: [
        { name: 'a', version: 1 },
        { name: 'b', version: 2 },
      ],
      metrics: [{ name: 'clicked', kind: 'binary' }],
    });
    await server.admin('POST', `/v1/experiments/${name}/stop`);
    const ui = await open(`experiments/${name}`);
    try {
      await ui.page.getByTestId('experiment-status').getByText('stopped').waitFor();
      // There is no delete route: the row goes from the database under the running server.
      const db = new Database(server.reg.config.db.replace(/^sqlite:/, ''));
      try {
        expect(db.prepare('DELETE FROM ferry_experiments WHERE name = ?').run(name).changes).toBe(1);
      } finally {
        db.close();
      }
      const notice = ui.page.getByTestId('error-notice');
      await notice.waitFor({ timeout: 15_000 });
      expect(await notice.textContent()).toMatch(/Not found: .*It may have been deleted\./);
      expect(await notice.textContent()).toContain(name);
      expect(
        unexpectedErrors(ui.errors, [/Failed to load resource: the server responded with a status of 404/]),
      ).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('pages through 60 more experiments, newest first, and filters by status', async () => {
    await stopActive();
    const prefix = uniq('bulk');
    const names = Array.from({ length: 60 }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
    for (const name of names) {
      await create({
        name,
        type: 'ab',
        model: MODEL,
        arms: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
        ],
        metrics: [{ name: 'clicked', kind: 'binary' }],
      });
      if (name !== names.at(-1)) await server.admin('POST', `/v1/experiments/${name}/stop`);
    }
    const { total } = await get<{ total: number }>('/v1/experiments?limit=1');
    expect(total).toBeGreaterThanOrEqual(60);
    const ui = await open('experiments');
    try {
      const rows = ui.page.getByTestId('experiment-row');
      const firstCells = async () => rows.getByRole('rowheader').getByRole('link').allTextContents();
      await rows.first().getByText(names[59]!).waitFor();
      expect(await rows.count()).toBe(20);
      expect(await firstCells()).toEqual(names.slice(40).reverse());
      const pager = ui.page.getByRole('navigation', { name: 'Experiments pages' });
      expect(await pager.textContent()).toContain(`1–20 of ${total}`);
      await pager.getByRole('button', { name: 'Next →' }).click();
      await rows.first().getByText(names[39]!).waitFor();
      expect(await firstCells()).toEqual(names.slice(20, 40).reverse());
      expect(ui.page.url()).toContain('offset=20');
      expect(await pager.textContent()).toContain(`21–40 of ${total}`);
      await pager.getByRole('button', { name: '← Previous' }).click();
      await rows.first().getByText(names[59]!).waitFor();

      await ui.page.getByLabel('Status').selectOption('running');
      await ui.page
        .locator('caption')
        .getByText(/^1 experiment running/)
        .waitFor();
      expect(await firstCells()).toEqual([names[59]]);
      await ui.page.getByLabel('Status').selectOption('paused');
      await ui.page.getByTestId('experiments-empty').getByText('No paused experiments.').waitFor();
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });
});
