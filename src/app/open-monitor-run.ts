import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { PredictionStore } from '../batch/prediction-store.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { readSetting } from '../core/settings/read-settings.js';
import { AlertStore } from '../monitoring/alerts/alert-store.js';
import type { Alert } from '../monitoring/alerts/evaluate.js';
import { loadRules, parseDurationMs } from '../monitoring/alerts/rules.js';
import { WebhookNotifier } from '../monitoring/alerts/webhook.js';
import { createDetector, restoreDetector } from '../monitoring/detectors/index.js';
import { FeedbackStore } from '../monitoring/feedback/feedback-store.js';
import { ReferenceProfileStore } from '../monitoring/profile/profile-store.js';
import { type AlertListener, type MonitorLog, MonitorLoop } from '../monitoring/run/monitor-loop.js';
import { MonitorMetrics } from '../monitoring/run/monitor-metrics.js';
import { reportSource } from '../monitoring/run/report-source.js';
import { columnDrift } from '../monitoring/stats/column-drift.js';
import { textDomainDrift } from '../monitoring/stats/domain-classifier.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import type { FerryContext } from './open-ferry.js';

/** What `ferry monitor run` and `serve --monitor` are given (flags as typed; the variables fill the rest). */
export interface MonitorRunFlags {
  readonly models: readonly string[];
  readonly rules?: string;
  readonly intervalMs?: string;
  readonly window?: string;
}

export interface MonitorRunSettings {
  readonly models: readonly string[];
  readonly rulesFile: string | undefined;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly webhookUrl: string | undefined;
  /** How far behind now the log is read (the prediction log's flush interval, and a margin). */
  readonly settleMs: number;
}

/**
 * The settings of a monitor: `--interval-ms` and `--window` win over FERRY_MONITOR_INTERVAL_MS and
 * FERRY_MONITOR_WINDOW_MS and are checked alike; `--window` also takes a duration (`1h`, `30m`).
 */
export function monitorRunSettings(env: NodeJS.ProcessEnv, flags: MonitorRunFlags): MonitorRunSettings {
  if (flags.models.length === 0)
    throw new FerryError(
      ErrorCode.CLI_USAGE,
      'give at least one --model to monitor (name, name@alias or name/version)',
    );
  let windowRaw = flags.window;
  if (windowRaw !== undefined) {
    const ms = parseDurationMs(windowRaw);
    if (ms === undefined)
      throw new FerryError(
        ErrorCode.MONITOR_INVALID,
        `--window "${windowRaw.slice(0, 50)}" is not a duration (e.g. 1h, 30m, 7d) or milliseconds`,
      );
    windowRaw = String(ms);
  }
  return {
    models: flags.models,
    rulesFile: flags.rules,
    intervalMs: readSetting(env, 'FERRY_MONITOR_INTERVAL_MS', {
      raw: flags.intervalMs,
      label: '--interval-ms',
    }),
    windowMs: readSetting(env, 'FERRY_MONITOR_WINDOW_MS', { raw: windowRaw, label: '--window' }),
    webhookUrl: readSetting(env, 'FERRY_MONITOR_WEBHOOK_URL'),
    settleMs: readSetting(env, 'FERRY_PREDICTION_LOG_FLUSH_MS') + 2000,
  };
}

export interface MonitorRuntime {
  readonly loop: MonitorLoop;
  readonly alerts: AlertStore;
  /** Stops the loop, waits for its tick and webhook deliveries (the database is the caller's). */
  close(): Promise<void>;
}

/**
 * Builds the monitor over the registry's database: the prediction log read back, reference
 * profiles, labels, the alerts store, the rules and the webhook, with its metrics on `registry`.
 * Tables are created here; the loop is not started (`runtime.loop.start()`).
 */
export async function openMonitor(deps: {
  readonly ferry: FerryContext;
  readonly settings: MonitorRunSettings;
  readonly registry: Registry;
  readonly logger: MonitorLog;
  readonly onAlert?: readonly AlertListener[];
}): Promise<MonitorRuntime> {
  const { ferry, settings, logger } = deps;
  const rules = await loadRules(settings.rulesFile);
  const log = new SqlPredictionLog(ferry.sql);
  await log.init();
  const alerts = new AlertStore(ferry.sql);
  await alerts.init();
  const profiles = new ReferenceProfileStore(ferry.sql);
  await profiles.init();
  const stored = new PredictionStore({ sql: ferry.sql });
  await stored.init();
  const feedback = new FeedbackStore({ sql: ferry.sql, log, stored });
  await feedback.init();
  let loop: MonitorLoop | undefined;
  const notifier =
    settings.webhookUrl === undefined
      ? undefined
      : new WebhookNotifier({ url: settings.webhookUrl }, (alert: Alert, outcome) =>
          loop?.recordDelivery(alert, outcome),
        );
  loop = new MonitorLoop({
    models: settings.models,
    resolve: async (ref) => {
      const v = await ferry.registry.resolve(ref);
      return { name: v.name, version: v.version };
    },
    computeReport: reportSource({
      profiles,
      log,
      feedback,
      columnDrift,
      textDomainDrift,
    }),
    log,
    feedback,
    detectors: { create: (name) => createDetector(name), restore: restoreDetector },
    store: alerts,
    metrics: new MonitorMetrics(deps.registry),
    rules,
    ...(notifier !== undefined ? { notifier } : {}),
    logger,
    intervalMs: settings.intervalMs,
    windowMs: settings.windowMs,
    settleMs: settings.settleMs,
  });
  for (const listener of deps.onAlert ?? []) loop.onAlert(listener);
  const running = loop;
  return { loop: running, alerts, close: () => running.stop() };
}

/**
 * `ferry monitor run --metrics-port N`: a small HTTP server answering `GET /metrics` with `registry`
 * (404 elsewhere). Resolves once listening; the returned function closes it.
 */
export async function serveMonitorMetrics(
  registry: Registry,
  port: number,
  host: string,
): Promise<{ address: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch(() => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new FerryError(
              ErrorCode.SERVING_PORT_IN_USE,
              `${host}:${port} is in use: choose another --metrics-port`,
            )
          : e,
      ),
    );
    server.listen(port, host, resolve);
  });
  const a = server.address() as AddressInfo;
  return {
    address: `http://${a.address}:${a.port}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
