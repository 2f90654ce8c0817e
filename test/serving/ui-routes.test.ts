/**
 * GET /ui and /ui/*: the dashboard's files over HTTP (the browser tests are in test/e2e/ui). Public,
 * security headers on every answer, hashed assets cached for good, the page never; a missing file
 * is 404 and a path outside the build is never served; not built → FERRY_UI_NOT_BUILT; off with
 * FERRY_UI=false / --no-ui.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendError } from '../../src/serving/http/http-errors.js';
import { registerUiRoutes, UI_ROOT } from '../../src/serving/http/routes/ui-routes.js';
import { ensureUiBuilt } from '../helpers/browser.js';
import {
  createTestRegistry,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

describe('dashboard routes', () => {
  let reg: TestRegistry;
  let server: TestServer;

  beforeAll(async () => {
    ensureUiBuilt();
    reg = await createTestRegistry();
    server = await startTestServer({ registry: reg, listen: false, config: { ui: true } });
  });
  afterAll(async () => {
    await server?.close();
    await reg?.close();
  });

  it('answers /ui and /ui/ with the page, no-cache, and a CSP that keeps it on this origin', async () => {
    for (const url of ['/ui', '/ui/']) {
      const res = await server.app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body).toContain('<div id="app"></div>');
      // Nothing from a CDN: every script and stylesheet is under /ui/assets/.
      for (const m of res.body.matchAll(/(?:src|href)="([^"]+)"/g)) {
        expect(m[1]!.startsWith('/ui/assets/') || m[1]!.startsWith('data:')).toBe(true);
      }
    }
  });

  it('serves hashed assets as immutable, and 404s (not 405) a file that does not exist', async () => {
    const asset = readdirSync(join(UI_ROOT, 'assets')).find((f) => f.endsWith('.js'));
    expect(asset).toBeDefined();
    const res = await server.app.inject(`/ui/assets/${asset}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await server.app.inject('/ui/assets/nope.js');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('FERRY_HTTP_NOT_FOUND');
    const post = await server.app.inject({ method: 'POST', url: '/ui' });
    expect(post.statusCode).toBe(405);
  });

  it('never serves a file outside the build, however the path is spelled', async () => {
    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/..%2f..%2fpackage.json',
      '/ui/assets/..%2f..%2f..%2fpackage.json',
      '/ui/%00',
      '/ui/assets/%c0%ae%c0%ae/package.json',
    ]) {
      const res = await server.app.inject(url);
      expect([400, 403, 404]).toContain(res.statusCode);
      expect(res.body).not.toContain('"name": "ferry"');
      expect(res.body).not.toContain('/work/');
    }
  });

  it('answers FERRY_UI_NOT_BUILT (503) with how to build when the files are missing', async () => {
    const empty = await makeTmpDir('ferry-ui-');
    const app = Fastify();
    app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
    try {
      await registerUiRoutes(app, empty.path);
      const res = await app.inject('/ui');
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('FERRY_UI_NOT_BUILT');
      expect(res.json().error.message).toContain('npm run build');
      expect(res.body).not.toContain(empty.path);
    } finally {
      await app.close();
      await empty.remove();
    }
  });

  it('is off with FERRY_UI=false (ferry serve --no-ui): /ui is a 404', async () => {
    const off = await startTestServer({ registry: reg, listen: false, flags: { ui: 'false' } });
    try {
      expect(off.sc.ui).toBe(false);
      const res = await off.app.inject('/ui');
      expect(res.statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});
