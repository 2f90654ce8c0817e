import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MonitoringReports,
  openMonitoring,
  profileTrainedVersion,
} from '../../src/app/open-monitoring.js';
import { bundleCustomModel } from '../../src/model/kinds/custom/bundle.js';
import { buildProfile } from '../../src/monitoring/profile/build-profile.js';
import { ReferenceProfileStore } from '../../src/monitoring/profile/profile-store.js';
import type { PredictionLogRecord } from '../../src/ports/prediction-log-sink.js';
import { kindContextOf, loadModel } from '../../src/registry/load-model.js';
import { registerArtifact } from '../../src/registry/register-artifact.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import {
  createTestRegistry,
  MODEL,
  sampleDataset,
  type TestRegistry,
  trainSmall,
  V1_SPEC,
} from '../helpers/serving.js';

const LINEAR = 'test/fixtures/custom-models/linear-logits.mjs';
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(ms).toISOString();

describe('drift reports with the prediction log and the profiles in PostgreSQL', () => {
  const schema = freshSchema();
  const sql = pgClient(schema);
  let reg: TestRegistry;
  let log: SqlPredictionLog;
  let profiles: ReferenceProfileStore;
  let monitoring: MonitoringReports;

  beforeAll(async () => {
    await sql.init();
    reg = await createTestRegistry({ versions: [V1_SPEC], production: 1 });
    log = new SqlPredictionLog(sql);
    await log.init();
    profiles = new ReferenceProfileStore(sql);
    monitoring = await openMonitoring({ registry: reg.registry, profiles, log });
  }, 120_000);
  afterAll(async () => {
    await sql.close();
    await reg?.close();
    await dropSchemas(schema);
  });

  it('the profile store replaces a version’s profile (ON CONFLICT on PostgreSQL)', async () => {
    const first = await profileTrainedVersion(
      profiles,
      { name: MODEL, version: 1 },
      trainSmall(V1_SPEC),
      sampleDataset().rows,
    );
    await profiles.put({ ...first, source: 'replaced' });
    expect((await profiles.get(MODEL, 1))?.source).toBe('replaced');
    await profiles.put(first);
    expect(await profiles.get(MODEL, 1)).toEqual(first);
  });

  it('a text window of another domain drifts; the same texts do not', async () => {
    const model = trainSmall(V1_SPEC).model;
    const same = sampleDataset().rows.map((r) => ({ title: r.title, description: r.description }));
    const other = Array.from({ length: 160 }, (_, i) => ({
      title: `Weekend hiking trail ${i} through pine forests`,
      description: `Pack water, boots and a rain jacket; the ${i % 9}th summit view over the lakes rewards a steep climb before sunset.`,
    }));
    const records = (texts: typeof same, hour: number, prefix: string): PredictionLogRecord[] => {
      const predictions = model.predictBatch(texts);
      return texts.map((t, i) => ({
        requestId: `${prefix}${String(i).padStart(4, '0')}`,
        at: at(T0 + hour * HOUR + i * 1000),
        model: MODEL,
        version: 1,
        latencyMs: 2,
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
    };
    await log.write([...records(same, 0, 's'), ...records(other, 1, 'o')]);
    const calm = await monitoring.report(`${MODEL}@production`, { since: at(T0), until: at(T0 + HOUR) });
    const moved = await monitoring.report(`${MODEL}@production`, {
      since: at(T0 + HOUR),
      until: at(T0 + 2 * HOUR),
    });
    expect(calm.counts.analysed).toBe(160);
    expect(calm.dataset.drifted).toBe(false);
    expect(moved.counts.analysed).toBe(160);
    expect(moved.text?.drift?.drifted).toBe(true);
    expect(moved.dataset.drifted).toBe(true);
    expect(moved.text?.oovRate.current).toBeGreaterThan(calm.text?.oovRate.current ?? 1);
  });

  it('a tensor model (custom kind): a shifted input column drifts, the others do not', async () => {
    const ctx = kindContextOf(reg.config);
    const version = await registerArtifact(
      reg.registry,
      'linear',
      await bundleCustomModel(LINEAR),
      { kind: 'custom' },
      ctx,
    );
    const { model } = await loadModel(reg.registry, `linear/${version.version}`, ctx);
    const row = (i: number, shift: number) => ({
      x: {
        datatype: 'FP32' as const,
        shape: [4],
        data: [((i * 37) % 100) + shift, (i * 11) % 13, (i * 7) % 50, 1],
      },
    });
    const profile = await buildProfile({
      model,
      name: 'linear',
      version: version.version,
      rows: [Array.from({ length: 400 }, (_, i) => row(i, 0))],
      source: 'synthetic rows',
    });
    await profiles.put(profile);
    const logged: PredictionLogRecord[] = Array.from({ length: 300 }, (_, i) => {
      const input = row(i + 1000, 60);
      const d = input.x.data;
      return {
        requestId: `t${String(i).padStart(4, '0')}`,
        at: at(T0 + 3 * HOUR + i * 1000),
        model: 'linear',
        version: version.version,
        latencyMs: 1,
        itemCount: 1,
        items: [
          {
            inputs: input,
            outputs: { logits: { datatype: 'FP32', shape: [3], data: d.slice(0, 3) } },
            source: 'model',
          },
        ],
      };
    });
    await log.write(logged);
    await model.close?.();
    const report = await monitoring.report(`linear/${version.version}`, {
      since: at(T0 + 3 * HOUR),
      until: at(T0 + 4 * HOUR),
    });
    const byName = Object.fromEntries(report.features.map((f) => [f.name, f]));
    expect(Object.keys(byName)).toEqual(['x[0]', 'x[1]', 'x[2]', 'x[3]']);
    expect(byName['x[0]']?.drift?.drifted).toBe(true);
    expect(byName['x[2]']?.drift?.drifted).toBe(false);
    expect(report.outputs.find((o) => o.name === 'logits[0]')?.drift?.drifted).toBe(true);
    expect(report.text).toBeNull();
    expect(report.dataset.driftedColumns).toBeGreaterThanOrEqual(1);
  });
});
