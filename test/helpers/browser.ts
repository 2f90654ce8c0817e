/**
 * The dashboard's end-to-end tests (issue 15): Debian's Chromium driven by playwright-core.
 *
 * - Chromium is /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it when missing).
 *   Without it the browser tests skip on a user's clone; under CI a missing Chromium fails them.
 * - Flags keep it off the network (this machine's network is closed: without them Chromium keeps
 *   trying Google's hosts). playwright-core adds --headless and a new empty --user-data-dir of
 *   its own to every launch.
 * - Every page a test opens records console errors and uncaught exceptions: the tests assert none.
 * - Screenshots go to test-results/ui/ (git-ignored); a few are copied to docs/img by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { newestMtimeMs } from './cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.FERRY_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(ROOT, 'test-results/ui');

/** Browser tests run where Chromium is installed, and always under CI (where its absence fails). */
export const RUN_BROWSER = existsSync(CHROMIUM) || process.env.CI !== undefined;

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
}

export interface UiPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions seen so far, as text. */
  errors: string[];
  close(): Promise<void>;
}

export const LAPTOP = { width: 1366, height: 768 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/**
 * A new context (its own storage) on the server at `baseUrl`; with `token`, the admin token is in
 * sessionStorage before the first page loads, as if entered once in the token box.
 */
export async function openUi(
  browser: Browser,
  opts: { token?: string; viewport?: { width: number; height: number } } = {},
): Promise<UiPage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? LAPTOP });
  if (opts.token !== undefined) {
    // A script string: this file is type-checked without the DOM's globals.
    const t = JSON.stringify(opts.token);
    await context.addInitScript(
      `if (sessionStorage.getItem('ferry.adminToken') === null) sessionStorage.setItem('ferry.adminToken', ${t});`,
    );
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, context, errors, close: () => context.close() };
}

/**
 * Console errors that are the test's own doing, not the dashboard's: the browser logs every failed
 * request (a 401 with a wrong token, the server stopped on purpose) as a console error.
 */
export function unexpectedErrors(errors: readonly string[], expected: readonly RegExp[] = []): string[] {
  return errors.filter((e) => !expected.some((re) => re.test(e)));
}

/** Saves a full-page PNG under test-results/ui/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Builds dist/ui when it is missing or older than ui/ (`npm test` builds first, so in CI it never
 * is). Test files run in parallel: a lock directory makes the others wait for one build.
 */
export function ensureUiBuilt(): void {
  const index = join(ROOT, 'dist/ui/index.html');
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= newestMtimeMs(join(ROOT, 'ui'));
  if (fresh()) return;
  const lock = join(ROOT, 'dist/.ui-build-lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 2 minutes: remove it`);
      spawnSync('sleep', ['0.2']);
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    const r = spawnSync(join(ROOT, 'node_modules/.bin/vite'), ['build', '--config', 'ui/vite.config.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
