/**
 * The Batch jobs page in Chromium against a real `ferry serve`: two jobs run by the real CLI on the
 * shipped sample into the server's own database (FERRY_HOME), then listed with their real record
 * counts, rejects and workers, filtered by status, and opened with each worker's rate; a wrong
 * token says so; no console errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { generateProjects, spawnCli, writeCsv } from '../../batch/helpers.js';
import { launchChromium, openUi, RUN_BROWSER, screenshot, unexpectedErrors } from '../../helpers/browser.js';
import { runCli } from '../../helpers/cli.js';
import { ADMIN_TOKEN, startUiServer, type UiServer } from '../../helpers/ui-server.js';

interface WorkerAnswer {
  worker: string;
  chunks: number;
  rows: number;
  rowsPerSecond: number | null;
}

describe.skipIf(!RUN_BROWSER)('Batch jobs page in Chromium', () => {
  let server: UiServer;
  let browser: Browser;
  let sampleJobId: string;
  let cliEnv: Record<string, string | undefined>;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startUiServer(), launchChromium()]);
    const env = { FERRY_HOME: server.reg.home, FERRY_DB: undefined, FERRY_ARTIFACTS: undefined };
    cliEnv = env;
    // The sample as it is (160 records, none rejected), then again with a repeated id (rejected).
    const sample = await runCli(
      ['batch', 'predict', '--input-loc', SAMPLE_DATASET_PATH, '--chunk-size', '40'],
      env,
    );
    expect(sample.code, sample.stderr).toBe(0);
    sampleJobId = /batch job (\S+) done/.exec(sample.stdout)![1]!;
    const lines = readFileSync(SAMPLE_DATASET_PATH, 'utf8').trimEnd().split('\n');
    const withReject = join(server.reg.home, 'with-reject.csv');
    writeFileSync(withReject, `${[...lines, lines[1]!].join('\n')}\n`);
    const rejected = await runCli(
      ['batch', 'predict', '--input-loc', withReject, '--chunk-size', '50', '--job-id', 'ui-rejects'],
      env,
    );
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toMatch(/rows 161: predicted 160, rejected 1; 4 chunks/);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the jobs with their real records, rejects and workers, and filters by status', async () => {
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${server.url}/ui/#/batch`);
      await ui.page.getByTestId('batch-jobs').waitFor();
      expect(await ui.page.getByText('Needs the admin token').count()).toBe(1);
      const rows = ui.page.locator('[data-testid=batch-jobs] tbody tr');
      expect(await rows.count()).toBe(2);
      // Newest first.
      expect(await rows.nth(0).getAttribute('data-job-id')).toBe('ui-rejects');
      expect(await rows.nth(1).getAttribute('data-job-id')).toBe(sampleJobId);
      const rejectsRow = rows.nth(0);
      expect(await rejectsRow.textContent()).toContain('tagifai/1');
      expect(await rejectsRow.getByTestId('job-status').textContent()).toBe('done');
      expect(await rejectsRow.getByText('161 / 161 records (100 %)').count()).toBe(1);
      expect(await rejectsRow.locator('progress').getAttribute('value')).toBe('161');
      expect(await rejectsRow.getByTestId('job-rejects').textContent()).toBe('1 (0.6 %)');
      expect(await rejectsRow.getByTestId('job-workers').textContent()).toBe('1');
      const sampleRow = rows.nth(1);
      expect(await sampleRow.getByText('160 / 160 records (100 %)').count()).toBe(1);
      expect(await sampleRow.getByTestId('job-rejects').textContent()).toBe('0');
      expect(await ui.page.locator('caption').textContent()).toBe('2 jobs, newest first');
      await screenshot(ui.page, 'batch');

      await ui.page.getByLabel('Status').selectOption('running');
      await ui.page.getByTestId('no-jobs').waitFor();
      expect(await ui.page.getByTestId('no-jobs').textContent()).toBe('No running batch job.');
      expect(ui.page.url()).toMatch(/#\/batch\?status=running$/);
      await ui.page.getByLabel('Status').selectOption('done');
      await ui.page.getByTestId('batch-jobs').waitFor();
      expect(await rows.count()).toBe(2);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it("opens a job with its progress, rejects and each worker's rate, as the API says", async () => {
    const answer = await server.admin<{ workers: WorkerAnswer[] }>('GET', '/v1/batch/jobs/ui-rejects');
    expect(answer.workers).toHaveLength(1);
    const [worker] = answer.workers;
    expect(worker).toMatchObject({ chunks: 4, rows: 161 });
    expect(worker!.rowsPerSecond).toBeGreaterThan(0);
    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${server.url}/ui/#/batch`);
      await ui.page.getByRole('link', { name: 'ui-rejects' }).click();
      await ui.page.getByTestId('job-workers').waitFor();
      expect(ui.page.url()).toMatch(/#\/batch\/ui-rejects$/);
      expect(await ui.page.getByTestId('job-id').textContent()).toBe('ui-rejects');
      expect(await ui.page.getByTestId('job-progress').textContent()).toContain('161 / 161 records (100 %)');
      expect(await ui.page.getByTestId('job-predicted').textContent()).toBe('160');
      expect(await ui.page.getByTestId('job-rejects').textContent()).toBe('1 (0.6 %)');
      const cells = ui.page.locator('[data-testid=job-workers] tbody tr td');
      expect(await cells.nth(0).textContent()).toBe(worker!.worker);
      expect(await cells.nth(0).textContent()).toMatch(/:\d+$/);
      expect(await cells.nth(1).textContent()).toBe('4');
      expect(await cells.nth(2).textContent()).toBe('161');
      expect(await cells.nth(3).textContent()).toBe('1');
      const shown = Number((await ui.page.getByTestId('worker-rate').textContent())!.replaceAll(',', ''));
      // Three significant digits of the API's figure.
      expect(Math.abs(shown - worker!.rowsPerSecond!) / worker!.rowsPerSecond!).toBeLessThan(0.01);
      await screenshot(ui.page, 'batch-job');

      // An id that is not there: the API's 404 in plain words.
      await ui.page.goto(`${server.url}/ui/#/batch/no-such-job`);
      await ui.page.getByTestId('error-notice').waitFor();
      expect(await ui.page.getByTestId('error-notice').textContent()).toMatch(
        /Not found: no batch job "no-such-job"/,
      );
      expect(unexpectedErrors(ui.errors, [/Failed to load resource.*404/])).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('says the token was refused when it is wrong', async () => {
    const ui = await openUi(browser, { token: 'not-the-token' });
    try {
      await ui.page.goto(`${server.url}/ui/#/batch`);
      const notice = ui.page.getByTestId('error-notice');
      await notice.waitFor();
      expect(await notice.textContent()).toMatch(/The admin token is missing or was refused/);
      expect(await ui.page.getByTestId('batch-jobs').count()).toBe(0);
      expect(unexpectedErrors(ui.errors, [/Failed to load resource.*401/])).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('follows a running job every 2 s: a job killed mid-way, then resumed, turns done without a reload', async () => {
    const ROWS = 40_000;
    const input = writeCsv(join(server.reg.home, 'live.csv'), generateProjects(ROWS, 'live-'));
    const args = ['batch', 'predict', '--input-loc', input, '--chunk-size', '500', '--job-id', 'live-job'];
    const first = spawnCli(args, cliEnv);
    type Answer = { status: string; rowsDone: number; chunksDone: number; workers: WorkerAnswer[] };
    const status = () => server.admin<Answer>('GET', '/v1/batch/jobs/live-job').catch(() => undefined);
    let seen: Answer | undefined;
    const deadline = Date.now() + 60_000;
    while ((seen?.chunksDone ?? 0) < 2) {
      if (Date.now() > deadline) throw new Error(`no progress: ${JSON.stringify(first.output())}`);
      await new Promise((r) => setTimeout(r, 100));
      seen = await status();
    }
    first.kill('SIGKILL');
    await first.exited;
    const killed = (await status())!;
    expect(killed.status).toBe('running');
    expect(killed.rowsDone).toBeGreaterThan(0);
    expect(killed.rowsDone).toBeLessThan(ROWS);

    const ui = await openUi(browser, { token: ADMIN_TOKEN });
    try {
      await ui.page.goto(`${server.url}/ui/#/batch/live-job`);
      await ui.page.getByTestId('job-progress').waitFor();
      expect(await ui.page.getByTestId('job-status').textContent()).toBe('running');
      const progress = (await ui.page.getByTestId('job-progress').textContent())!;
      expect(progress).toContain(killed.rowsDone.toLocaleString('en-US'));
      expect(progress).not.toContain('100 %');
      await screenshot(ui.page, 'batch-job-running');

      const rerun = await runCli(args, cliEnv);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stdout).toMatch(/rows 40,000: predicted 40,000, rejected 0/);
      // No reload: the page asks again every 2 s while the job runs.
      await ui.page.getByTestId('job-status').getByText('done').waitFor({ timeout: 15_000 });
      expect(await ui.page.getByTestId('job-progress').textContent()).toContain(
        '40,000 / 40,000 records (100 %)',
      );
      // The killed process and the one that finished the job, each with its own figures.
      const workers = ui.page.locator('[data-testid=job-workers] tbody tr');
      expect(await workers.count()).toBe(2);
      const done = (await status())!;
      expect(done.workers.map((w) => w.rows).reduce((a, b) => a + b, 0)).toBe(ROWS);
      expect(unexpectedErrors(ui.errors)).toEqual([]);
    } finally {
      await ui.close();
    }
  }, 180_000);
});
