import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { seededRandom } from '../../../src/core/random.js';
import { AlertStore } from '../../../src/monitoring/alerts/alert-store.js';
import type { Alert } from '../../../src/monitoring/alerts/evaluate.js';
import type { AlertRule } from '../../../src/monitoring/alerts/rules.js';
import { WebhookNotifier } from '../../../src/monitoring/alerts/webhook.js';
import { createDetector, restoreDetector } from '../../../src/monitoring/detectors/index.js';
import type { FeedbackSource } from '../../../src/monitoring/feedback-types.js';
import { ObservationAccumulator } from '../../../src/monitoring/profile/accumulate.js';
import { observe } from '../../../src/monitoring/profile/observe.js';
import { ReferenceProfileStore } from '../../../src/monitoring/profile/profile-store.js';
import type { ReferenceProfile } from '../../../src/monitoring/reference-profile.js';
import {
  type MonitoredVersion,
  type MonitorLog,
  MonitorLoop,
} from '../../../src/monitoring/run/monitor-loop.js';
import { MonitorMetrics } from '../../../src/monitoring/run/monitor-metrics.js';
import { reportSource } from '../../../src/monitoring/run/report-source.js';
import { columnDrift } from '../../../src/monitoring/stats/column-drift.js';
import type { PredictionLogItem, PredictionLogRecord } from '../../../src/ports/prediction-log-sink.js';
import type { SqlClient } from '../../../src/ports/sql.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';

export const MODEL = 'churn';
export const T0 = Date.parse('2026-03-01T00:00:00.000Z');
export const MIN = 60_000;

/** A tensor classifier's logged row: two inputs and its two class probabilities. */
function item(x0: number, x1: number, p: number): PredictionLogItem {
  return {
    inputs: { x: { datatype: 'FP32', shape: [1, 2], data: [x0, x1] } },
    outputs: {
      probabilities: { datatype: 'FP32', shape: [1, 2], data: [p, 1 - p] },
      label: { datatype: 'BYTES', shape: [1], data: [p >= 0.5 ? 'stay' : 'churn'] },
    },
    source: 'model',
  };
}

/** `n` requests of one item each, one every `stepMs` from `start`: usual inputs, or shifted ones with low confidence. */
export function records(opts: {
  n: number;
  start: number;
  stepMs: number;
  drifted: boolean;
  seed: number;
  version?: number;
  prefix?: string;
}): PredictionLogRecord[] {
  const random = seededRandom(opts.seed);
  return Array.from({ length: opts.n }, (_, i) => {
    const shift = opts.drifted ? 3 : 0;
    const p = opts.drifted ? 0.5 + 0.15 * random() : 0.85 + 0.1 * random();
    return {
      requestId: `${opts.prefix ?? 'r'}-${opts.seed}-${String(i).padStart(6, '0')}`,
      at: new Date(opts.start + i * opts.stepMs).toISOString(),
      model: MODEL,
      version: opts.version ?? 1,
      latencyMs: 1,
      items: [item(random() * 2 - 1 + shift, random() * 2 - 1 + shift, p)],
      itemCount: 1,
    };
  });
}

/** The reference profile of version 1, summarised from usual rows through the report's own extractor. */
function referenceProfile(version = 1): ReferenceProfile {
  const acc = new ObservationAccumulator({ seed: 42 });
  for (const r of records({ n: 600, start: T0 - 86_400_000, stepMs: 1000, drifted: false, seed: 7 }))
    for (const it of r.items) acc.add(observe(it, { classifier: false }));
  const result = acc.result();
  return {
    schema: 1,
    model: MODEL,
    version,
    createdAt: new Date(T0).toISOString(),
    source: 'test rows',
    rows: result.items,
    features: result.features,
    outputs: result.outputs,
  };
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function memoryLog(lines: LogLine[]): MonitorLog {
  return {
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
  };
}

/** A real HTTP receiver of alerts on 127.0.0.1; `status` answers each request. */
export async function alertReceiver(status: (n: number) => number = () => 200): Promise<{
  url: string;
  alerts: Alert[];
  close(): Promise<void>;
}> {
  const alerts: Alert[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status(++n);
      if (code < 300)
        alerts.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alert: Alert }).alert);
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    alerts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LoopSetup {
  loop: MonitorLoop;
  store: AlertStore;
  log: SqlPredictionLog;
  registry: Registry;
  lines: LogLine[];
  clock: { now: number };
}

/** The loop as the wiring builds it, on `sql`, with a settable clock; the tables are created. */
export async function buildLoop(
  sql: SqlClient,
  opts: {
    rules: AlertRule[];
    webhookUrl?: string;
    resolve?: (ref: string) => Promise<MonitoredVersion>;
    models?: string[];
    feedback?: FeedbackSource;
    clock?: { now: number };
    profile?: boolean;
  },
): Promise<LoopSetup> {
  const log = new SqlPredictionLog(sql);
  await log.init();
  const store = new AlertStore(sql);
  await store.init();
  const profiles = new ReferenceProfileStore(sql);
  await profiles.init();
  if (opts.profile !== false) await profiles.put(referenceProfile());
  const registry = new Registry();
  const metrics = new MonitorMetrics(registry);
  const lines: LogLine[] = [];
  const clock = opts.clock ?? { now: T0 };
  const logger = memoryLog(lines);
  let loop: MonitorLoop | undefined;
  const notifier =
    opts.webhookUrl === undefined
      ? undefined
      : new WebhookNotifier(
          { url: opts.webhookUrl, initialDelayMs: 10, maxDelayMs: 20, timeoutMs: 500, retries: 2 },
          (a, o) => loop?.recordDelivery(a, o),
        );
  loop = new MonitorLoop({
    models: opts.models ?? [MODEL],
    resolve: opts.resolve ?? (async (ref) => ({ name: ref, version: 1 })),
    computeReport: reportSource({
      profiles,
      log,
      columnDrift,
      textDomainDrift: () => {
        throw new Error('these rows have no text');
      },
    }),
    log,
    ...(opts.feedback !== undefined ? { feedback: opts.feedback } : {}),
    detectors: { create: (name) => createDetector(name), restore: restoreDetector },
    store,
    metrics,
    rules: opts.rules,
    ...(notifier !== undefined ? { notifier } : {}),
    logger,
    intervalMs: MIN,
    windowMs: 10 * MIN,
    clock: () => clock.now,
  });
  return { loop, store, log, registry, lines, clock };
}
