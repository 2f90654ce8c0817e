import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import {
  type MonitoringReports,
  openMonitoring,
  profileTrainedVersion,
} from '../../../src/app/open-monitoring.js';
import type { TextInput } from '../../../src/model/model.js';
import type { FeedbackSource, LabeledPrediction } from '../../../src/monitoring/feedback-types.js';
import { ReferenceProfileStore } from '../../../src/monitoring/profile/profile-store.js';
import type { DriftReport } from '../../../src/monitoring/report/drift-report.js';
import { renderHtml } from '../../../src/monitoring/report/render-html.js';
import { renderTable } from '../../../src/monitoring/report/render-table.js';
import type { PredictionLogRecord } from '../../../src/ports/prediction-log-sink.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import {
  createTestRegistry,
  MODEL,
  sampleDataset,
  type TestRegistry,
  trainSmall,
  V1_SPEC,
} from '../../helpers/serving.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const windowOf = (hour: number) => ({ since: at(T0 + hour * HOUR), until: at(T0 + (hour + 1) * HOUR) });

/** Texts of another domain: cooking, longer, words the model never saw. */
function cookingTexts(n: number): TextInput[] {
  const dishes = ['pasta', 'risotto', 'curry', 'stew', 'pancakes', 'dumplings', 'lasagna', 'paella'];
  const extras = ['garlic', 'basil', 'saffron', 'butter', 'cinnamon', 'oregano', 'paprika', 'thyme', 'lemon'];
  return Array.from({ length: n }, (_, i) => ({
    title: `Grandma's ${dishes[i % dishes.length]} recipe number ${i}`,
    description: `Slowly simmer the ${dishes[(i * 3) % dishes.length]} with ${extras[i % extras.length]}, ${extras[(i + 4) % extras.length]} and ${extras[(i + 7) % extras.length]} for a cosy family dinner; serve warm with bread, a fresh salad and a glass of wine, then enjoy dessert.`,
  }));
}

/** Every number in the report is finite (JSON would turn NaN into null silently). */
function finiteEverywhere(value: unknown, path = 'report'): void {
  if (typeof value === 'number') expect(Number.isFinite(value), path).toBe(true);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) finiteEverywhere(v, `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) finiteEverywhere(v, `${path}.${k}`);
}

describe('drift reports over the SQL prediction log (SQLite)', () => {
  let reg: TestRegistry;
  let sql: SqliteClient;
  let log: SqlPredictionLog;
  let monitoring: MonitoringReports;
  const labels = new Map<string, string>();

  /** Labels joined to the log by request id, as the feedback store does (FeedbackSource's contract). */
  const feedback: FeedbackSource = {
    async labeled(model, range) {
      const records = await log.findByRequestIds([...labels.keys()]);
      const matched: LabeledPrediction[] = records
        .filter((r) => r.model === model && r.at >= (range.since ?? '') && r.at < (range.until ?? '9999'))
        .map((r) => {
          const item = r.items[0]!;
          return {
            requestId: r.requestId,
            item: 0,
            version: r.version,
            at: r.at,
            label: labels.get(r.requestId)!,
            predicted: 'prediction' in item ? item.prediction : undefined,
            logged: item,
          };
        });
      return { matched, unmatched: 0 };
    },
    countSince: async () => labels.size,
  };

  async function logTexts(
    prefix: string,
    texts: readonly TextInput[],
    hour: number,
    truth?: readonly string[],
  ) {
    const model = trainSmall(V1_SPEC).model;
    const predictions = model.predictBatch(texts);
    const records: PredictionLogRecord[] = texts.map((t, i) => ({
      requestId: `${prefix}-${String(i).padStart(5, '0')}`,
      at: at(T0 + hour * HOUR + Math.floor((i * HOUR) / texts.length)),
      model: MODEL,
      version: 1,
      latencyMs: 1,
      itemCount: 1,
      items: [
        {
          ...t,
          prediction: predictions[i]!.prediction,
          probabilities: { ...predictions[i]!.probabilities },
          source: 'model',
        },
      ],
    }));
    if (truth) for (const [i, r] of records.entries()) labels.set(r.requestId, truth[i]!);
    await log.write(records);
  }

  beforeAll(async () => {
    reg = await createTestRegistry({ versions: [V1_SPEC], production: 1 });
    sql = new SqliteClient({ path: join(reg.home, 'monitor.db') });
    await sql.init();
    log = new SqlPredictionLog(sql);
    await log.init();
    const profiles = new ReferenceProfileStore(sql);
    monitoring = await openMonitoring({
      registry: reg.registry,
      profiles,
      log,
      feedback,
      now: () => new Date(T0 + 10 * HOUR),
    });
    await profileTrainedVersion(
      profiles,
      { name: MODEL, version: 1 },
      trainSmall(V1_SPEC),
      sampleDataset().rows,
    );
    const rows = sampleDataset().rows;
    // Hour 0: the same kind of texts as the reference; hour 2: another domain.
    await logTexts(
      'same',
      rows,
      0,
      rows.map((r) => r.tag),
    );
    await logTexts('cook', cookingTexts(200), 2);
  }, 120_000);
  afterAll(async () => {
    await sql.close();
    await reg.close();
  });

  it('a window like the reference: no dataset drift, quality from the labels', async () => {
    const report = await monitoring.report(`${MODEL}@production`, windowOf(0));
    expect(report.status).toBe('ok');
    expect(report.counts).toEqual({ requests: 160, items: 160, analysed: 160, truncatedRequests: 0 });
    expect(report.features.map((f) => f.name)).toEqual(['text_length', 'token_count']);
    expect(report.outputs.map((f) => f.name)).toEqual(['confidence', 'predicted_label']);
    const length = report.features.find((f) => f.name === 'text_length')!;
    expect(length.drift?.drifted).toBe(false);
    expect(length.histogram?.type).toBe('numeric');
    expect(report.dataset.drifted).toBe(false);
    expect(report.text?.oovRate.current).toBeLessThan(0.2);
    // The registered model was refit on these rows: it is right on (nearly) all of them.
    expect(report.quality?.labeled).toBe(160);
    expect(report.quality?.versions[0]).toMatchObject({ version: 1, labeled: 160 });
    expect(report.quality?.versions[0]?.accuracy).toBeGreaterThan(0.9);
    finiteEverywhere(report);
  });

  it('a window of another domain: text length, OOV and the texts drift, and the dataset', async () => {
    const report = await monitoring.report(`${MODEL}/1`, windowOf(2));
    expect(report.status).toBe('ok');
    expect(report.counts.analysed).toBe(200);
    const length = report.features.find((f) => f.name === 'text_length')!;
    expect(length.drift).toMatchObject({ method: 'ks', drifted: true });
    expect(report.text?.oovRate.current).toBeGreaterThan(0.5);
    expect(report.text?.drift?.drifted).toBe(true);
    expect(report.text?.drift?.rocAuc).toBeGreaterThan(0.9);
    expect(report.dataset).toMatchObject({ drifted: true, driftedColumns: report.dataset.columns });
    expect(report.quality).toEqual({ labeled: 0, unmatched: 0, versions: [] });
    finiteEverywhere(report);
    expect(renderTable(report)).toMatch(/text_length\s+numeric\s+ks\s+\S+\s+0\.05\s+\S+\s+DRIFT/);
  });

  it('an empty window is "no data", with counts of 0 and no NaN anywhere', async () => {
    const report = await monitoring.report(MODEL === 'tagifai' ? 'tagifai@production' : MODEL, windowOf(5));
    expect(report.status).toBe('no-data');
    expect(report.counts).toEqual({ requests: 0, items: 0, analysed: 0, truncatedRequests: 0 });
    expect(report.features).toEqual([]);
    expect(report.outputs).toEqual([]);
    expect(report.text?.drift).toBeNull();
    expect(report.text?.oovRate.current).toBeNull();
    expect(report.dataset).toMatchObject({ columns: 0, share: 0, drifted: false });
    finiteEverywhere(report);
    expect(renderTable(report)).toContain('no data');
    expect(renderHtml(report)).toContain('No data');
  });

  it('the HTML report is one self-contained file: inline SVG, no URL, script or external resource', async () => {
    const report: DriftReport = await monitoring.report(`${MODEL}/1`, windowOf(2));
    const html = renderHtml(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // One histogram per compared feature and output.
    expect(html.match(/<svg /g)?.length).toBe(report.features.length + report.outputs.length);
    for (const forbidden of [
      /https?:/i,
      /\/\//,
      /\bsrc=/i,
      /\bhref=/i,
      /<script/i,
      /<link/i,
      /url\(/i,
      /@import/i,
    ])
      expect(html).not.toMatch(forbidden);
    expect(html).toContain('text_length');
  });

  it('bad settings and a version without a profile are refused with their codes', async () => {
    await expectFerryError(
      monitoring.report(`${MODEL}/1`, windowOf(2), { numeric: { method: 'chi-square' } }),
      'FERRY_MONITOR_INVALID',
    );
    await expectFerryError(
      monitoring.report(`${MODEL}/1`, windowOf(2), { driftShare: 2 }),
      'FERRY_MONITOR_INVALID',
    );
    await expectFerryError(monitoring.report('nobody@production', windowOf(0)), 'FERRY_REGISTRY_NOT_FOUND');
    await reg.registry.register(MODEL, trainSmall(V1_SPEC).model.toArtifact(), {
      kind: trainSmall(V1_SPEC).model.kind,
      params: {},
      metrics: {},
      dataset: {},
    });
    const e = await expectFerryError(
      monitoring.report(`${MODEL}/2`, windowOf(0)),
      'FERRY_MONITOR_NO_REFERENCE',
      404,
    );
    expect(e.message).toContain(`ferry monitor profile --model ${MODEL}/2`);
  });

  it('a forced method and threshold are used and reported', async () => {
    const report = await monitoring.report(`${MODEL}/1`, windowOf(0), {
      numeric: { method: 'wasserstein', threshold: 0.5 },
      categorical: { method: 'psi' },
    });
    expect(report.settings.numeric).toEqual({ method: 'wasserstein', threshold: 0.5 });
    for (const f of [...report.features, ...report.outputs]) {
      expect(f.drift?.method).toBe(f.type === 'numeric' ? 'wasserstein' : 'psi');
      if (f.type === 'numeric') expect(f.drift?.threshold).toBe(0.5);
    }
  });

  it('a window of several pages is read whole (4500 requests, pages of 2000)', async () => {
    const rows = sampleDataset().rows;
    const texts = Array.from({ length: 4500 }, (_, i) => rows[i % rows.length]!);
    await logTexts('many', texts, 7);
    const report = await monitoring.report(`${MODEL}/1`, windowOf(7));
    expect(report.counts).toEqual({ requests: 4500, items: 4500, analysed: 4500, truncatedRequests: 0 });
    const length = report.features.find((f) => f.name === 'text_length')!;
    expect(length.current.count).toBe(4500);
    // The statistic compared every value of the window, not the first page.
    expect(length.drift?.currentCount).toBe(4500);
  });
});
