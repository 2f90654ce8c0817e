/**
 * What `ferry serve --monitor` exports on /metrics (src/monitoring/run/monitor-metrics.ts), read for
 * the monitoring page: pure, no DOM. Absent families mean the loop does not run in this server.
 */
import type { Sample } from './parse.js';

export interface ServedVersion {
  readonly model: string;
  readonly version: string;
  /** The alias it is loaded for, or "on-demand". */
  readonly alias: string;
}

/** The versions this server has loaded (`ferry_model_loaded` = 1), by model, alias, version. */
export function servedVersions(samples: readonly Sample[]): ServedVersion[] {
  const out: ServedVersion[] = [];
  for (const s of samples) {
    if (s.name !== 'ferry_model_loaded' || s.value !== 1) continue;
    const { model, version, alias } = s.labels;
    if (model !== undefined && version !== undefined) out.push({ model, version, alias: alias ?? '' });
  }
  return out.sort((a, b) =>
    a.model !== b.model ? (a.model < b.model ? -1 : 1) : Number(a.version) - Number(b.version),
  );
}

export interface MonitorGauges {
  /** Whether the monitor loop runs in this server (its families are on /metrics). */
  readonly running: boolean;
  /** When its last tick finished (epoch ms), null before the first. */
  readonly lastRunMs: number | null;
  /** Of the model: the share of drifted features over the monitor's window (absent: no data). */
  readonly datasetDriftShare: number | null;
  readonly features: ReadonlyArray<{
    feature: string;
    method: string;
    score: number;
    drifted: boolean | null;
  }>;
  /** Of the model: signals of the streaming detectors since the server started. */
  readonly detectors: ReadonlyArray<{ detector: string; stream: string; signals: number }>;
  /** Alerts fired since the server started, every model (the counter has no model label). */
  readonly alerts: ReadonlyArray<{ rule: string; severity: string; fired: number }>;
  readonly tickFailures: number;
}

export function monitorGauges(samples: readonly Sample[], model: string): MonitorGauges {
  let running = false;
  let lastRunMs: number | null = null;
  let datasetDriftShare: number | null = null;
  let tickFailures = 0;
  const scores: Array<{ feature: string; method: string; score: number }> = [];
  const drifted = new Map<string, boolean>();
  const detectors: Array<{ detector: string; stream: string; signals: number }> = [];
  const alerts: Array<{ rule: string; severity: string; fired: number }> = [];
  for (const s of samples) {
    const l = s.labels;
    switch (s.name) {
      case 'ferry_monitor_last_run_timestamp_seconds':
        running = true;
        lastRunMs = s.value > 0 ? s.value * 1000 : null;
        break;
      case 'ferry_monitor_dataset_drift_share':
        if (l.model === model) datasetDriftShare = s.value;
        break;
      case 'ferry_monitor_drift_score':
        if (l.model === model && l.feature !== undefined)
          scores.push({ feature: l.feature, method: l.method ?? '', score: s.value });
        break;
      case 'ferry_monitor_feature_drifted':
        if (l.model === model && l.feature !== undefined) drifted.set(l.feature, s.value === 1);
        break;
      case 'ferry_monitor_detector_drifts_total':
        if (l.model === model)
          detectors.push({ detector: l.detector ?? '', stream: l.stream ?? '', signals: s.value });
        break;
      case 'ferry_monitor_alerts_total':
        alerts.push({ rule: l.rule ?? '', severity: l.severity ?? '', fired: s.value });
        break;
      case 'ferry_monitor_tick_failures_total':
        // Labelled by the reference monitored: tagifai, tagifai@production, tagifai/3.
        if (l.model === model || l.model?.startsWith(`${model}@`) || l.model?.startsWith(`${model}/`))
          tickFailures += s.value;
        break;
    }
  }
  const byName = <T extends Record<string, unknown>>(a: T, b: T, k: keyof T) =>
    String(a[k]) < String(b[k]) ? -1 : String(a[k]) > String(b[k]) ? 1 : 0;
  return {
    running,
    lastRunMs,
    datasetDriftShare,
    features: scores
      .map((f) => ({ ...f, drifted: drifted.get(f.feature) ?? null }))
      .sort((a, b) => byName(a, b, 'feature')),
    detectors: detectors.sort((a, b) => byName(a, b, 'detector') || byName(a, b, 'stream')),
    alerts: alerts.sort((a, b) => byName(a, b, 'rule')),
    tickFailures,
  };
}
