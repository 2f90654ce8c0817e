import { afterEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { openServing } from '../../../src/app/open-serving.js';
import { AlertStore } from '../../../src/monitoring/alerts/alert-store.js';
import { loadServingConfig } from '../../../src/serving/serving-config.js';
import { createTestRegistry, MODEL, PROJECTS, type TestRegistry, V1_SPEC } from '../../helpers/serving.js';

let reg: TestRegistry | undefined;
afterEach(async () => {
  await reg?.close();
  reg = undefined;
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('serve --monitor', () => {
  it('runs the loop with the server: it follows the production alias, feeds the detectors from the served predictions, gauges on /metrics, stops with the server', async () => {
    reg = await createTestRegistry({ versions: [V1_SPEC] });
    const sc = {
      ...loadServingConfig({}, { host: '127.0.0.1', port: '0', cache: 'off', predictionLog: 'sql' }),
      aliasPollMs: 0,
      predictionLogFlushMs: 20,
    };
    const runtime = await openServing(reg.config, sc, {
      monitor: {
        models: [`${MODEL}@production`],
        rulesFile: undefined,
        intervalMs: 1000,
        windowMs: 3_600_000,
        webhookUrl: undefined,
        settleMs: 0,
      },
    });
    let closed = false;
    try {
      for (let i = 0; i < 30; i++) {
        const project = [PROJECTS.nlp, PROJECTS.cv, PROJECTS.mlops][i % 3]!;
        const res = await runtime.app.inject({ method: 'POST', url: '/predict', payload: project });
        expect(res.statusCode).toBe(200);
      }
      const sql = new SqliteClient({ path: reg.config.db.slice('sqlite:'.length) });
      await sql.init();
      try {
        const store = new AlertStore(sql);
        // A tick after the log was flushed: its saved cursor is at the last served request.
        await until(async () => {
          const state = (await store.loadState(MODEL)) as { cursor: unknown; version: number } | undefined;
          return state?.cursor != null;
        });
        const state = (await store.loadState(MODEL)) as {
          version: number;
          detectors: Record<string, unknown>;
        };
        expect(state.version).toBe(1);
        expect(Object.keys(state.detectors)).toContain('confidence:adwin');
      } finally {
        await sql.close();
      }
      const metrics = await runtime.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/ferry_monitor_last_run_timestamp_seconds [0-9]/);
      expect(metrics.body).toContain('ferry_http_requests_total'); // one registry: the server's
      await runtime.close();
      closed = true;
    } finally {
      if (!closed) await runtime.close();
    }
  });
});
