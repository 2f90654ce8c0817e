import { readFile } from 'node:fs/promises';
import { parseDuration } from '../../core/duration.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { DETECTOR_NAMES } from '../detectors/index.js';

/**
 * Alert rules: a condition on one value the monitor loop produces each tick, held for a duration
 * before it fires (Prometheus' `for`). A rules file is JSON: `{"rules": [rule, …]}` or `[rule, …]`;
 * its rules replace a default of the same name and add to the others.
 */
export type AlertOp = '>' | '>=' | '<' | '<=';
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface AlertRule {
  readonly name: string;
  /** A value of the loop (see METRIC_FORMS). */
  readonly metric: string;
  readonly op: AlertOp;
  readonly threshold: number;
  /** How long the condition must hold before the alert fires; 0: on the first tick it holds. */
  readonly forMs: number;
  readonly severity: AlertSeverity;
}

const OPS: readonly AlertOp[] = ['>', '>=', '<', '<='];
const SEVERITIES: readonly AlertSeverity[] = ['info', 'warning', 'critical'];
/** What a detector watches: the confidence of each prediction, or 0/1 errors once labels arrive. */
export type DetectorStream = 'confidence' | 'error';
const DETECTOR_STREAMS: readonly DetectorStream[] = ['confidence', 'error'];

/** Values of the loop with no parameter. */
const PLAIN_METRICS = new Set([
  'dataset_drift_share',
  'drifted_features',
  'rows',
  'detector_drifts',
  'accuracy',
  'weighted_f1',
  'labels',
  'oov_rate',
]);

/** What a metric name may be, for the error message. */
const METRIC_FORMS =
  'dataset_drift_share, drifted_features, rows, detector_drifts, accuracy, weighted_f1, labels, oov_rate, ' +
  'feature_drift_score:<feature>, feature_drifted:<feature>, feature_psi:<feature>, ' +
  `detector:<${DETECTOR_NAMES.join('|')}>:<${DETECTOR_STREAMS.join('|')}>`;

/** Why a metric name is not one the loop produces; undefined when it is. */
function metricProblem(metric: string): string | undefined {
  if (PLAIN_METRICS.has(metric)) return undefined;
  const feature = /^(feature_drift_score|feature_drifted|feature_psi):(.+)$/.exec(metric);
  if (feature) return undefined;
  const detector = /^detector:([^:]+):([^:]+)$/.exec(metric);
  if (detector) {
    if (!(DETECTOR_NAMES as readonly string[]).includes(detector[1]!))
      return `unknown detector ${JSON.stringify(detector[1])} (one of ${DETECTOR_NAMES.join(', ')})`;
    if (!(DETECTOR_STREAMS as readonly string[]).includes(detector[2]!))
      return `unknown stream ${JSON.stringify(detector[2])} (one of ${DETECTOR_STREAMS.join(', ')})`;
    return undefined;
  }
  return `unknown metric ${JSON.stringify(metric)}: expected one of ${METRIC_FORMS}`;
}

/** The rules every monitor runs unless a rules file replaces them by name. */
export const DEFAULT_RULES: readonly AlertRule[] = [
  {
    name: 'dataset-drift',
    metric: 'dataset_drift_share',
    op: '>=',
    threshold: 0.5,
    forMs: 5 * 60_000,
    severity: 'warning',
  },
  // A detector signals on one tick (the value is the tick's count of signals): no hold. Which
  // detectors alert by default follows bench/learning/detectors.ts: ADWIN on the confidence and
  // Page-Hinkley on the errors raised no alarm on 50 no-drift streams (KSWIN, with River's
  // defaults, alarmed in 80 % of 1000-value windows of confidences); KSWIN still runs and counts.
  {
    name: 'adwin-confidence',
    metric: 'detector:adwin:confidence',
    op: '>=',
    threshold: 1,
    forMs: 0,
    severity: 'warning',
  },
  {
    name: 'page-hinkley-error',
    metric: 'detector:page-hinkley:error',
    op: '>=',
    threshold: 1,
    forMs: 0,
    severity: 'warning',
  },
  // Absent until labels arrive, so it cannot fire on a model nobody labels.
  {
    name: 'accuracy-floor',
    metric: 'accuracy',
    op: '<',
    threshold: 0.5,
    forMs: 15 * 60_000,
    severity: 'critical',
  },
];

/**
 * A duration (`core/duration.ts`: `90s`, `5m`, `1h30m`, `250ms`, or a whole number of
 * milliseconds), not negative. Undefined when it is not one.
 */
export function parseDurationMs(value: unknown): number | undefined {
  const r = parseDuration(value);
  return r.ok && r.ms >= 0 ? r.ms : undefined;
}

function invalid(file: string, field: string, problem: string): FerryError {
  return new FerryError(ErrorCode.MONITOR_INVALID, `${file}: ${field}: ${problem}`, {
    details: { file, field },
  });
}

const RULE_FIELDS = new Set(['name', 'metric', 'op', 'threshold', 'for', 'severity']);

function parseRule(raw: unknown, file: string, at: string): AlertRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid(file, at, 'expected an object {name, metric, op, threshold, for, severity}');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!RULE_FIELDS.has(key))
      throw invalid(file, `${at}.${key}`, `unknown field (expected ${[...RULE_FIELDS].join(', ')})`);
  }
  const { name, metric, op, threshold, severity } = r;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
    throw invalid(file, `${at}.name`, 'expected 1–64 letters, digits, "_", "." or "-"');
  if (typeof metric !== 'string') throw invalid(file, `${at}.metric`, `expected one of ${METRIC_FORMS}`);
  const problem = metricProblem(metric);
  if (problem !== undefined) throw invalid(file, `${at}.metric`, problem);
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op))
    throw invalid(file, `${at}.op`, `expected one of ${OPS.join(' ')}`);
  if (typeof threshold !== 'number' || !Number.isFinite(threshold))
    throw invalid(file, `${at}.threshold`, 'expected a finite number');
  const forMs = r.for === undefined ? 0 : parseDurationMs(r.for);
  if (forMs === undefined)
    throw invalid(file, `${at}.for`, 'expected a duration such as "0s", "5m", "1h30m" or milliseconds');
  const sev = severity ?? 'warning';
  if (typeof sev !== 'string' || !(SEVERITIES as readonly string[]).includes(sev))
    throw invalid(file, `${at}.severity`, `expected one of ${SEVERITIES.join(', ')}`);
  return { name, metric, op: op as AlertOp, threshold, forMs, severity: sev as AlertSeverity };
}

/** The rules of a file's text, checked strictly; `file` names it in errors. */
export function parseRules(text: string, file: string): AlertRule[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid(file, '(file)', `not JSON: ${(e as Error).message}`);
  }
  let list: unknown = doc;
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    const keys = Object.keys(doc);
    const extra = keys.find((k) => k !== 'rules');
    if (extra !== undefined) throw invalid(file, extra, 'unknown field (expected "rules")');
    list = (doc as { rules?: unknown }).rules;
  }
  if (!Array.isArray(list)) throw invalid(file, 'rules', 'expected an array of rules');
  const rules = list.map((raw, i) => parseRule(raw, file, `rules[${i}]`));
  const seen = new Set<string>();
  rules.forEach((rule, i) => {
    if (seen.has(rule.name))
      throw invalid(file, `rules[${i}].name`, `${JSON.stringify(rule.name)} is used twice`);
    seen.add(rule.name);
  });
  return rules;
}

/** The defaults, each replaced by a rule of the same name in `custom`, then `custom`'s others. */
function withDefaults(custom: readonly AlertRule[]): AlertRule[] {
  const names = new Set(custom.map((r) => r.name));
  return [...DEFAULT_RULES.filter((r) => !names.has(r.name)), ...custom];
}

/** The rules a monitor runs: the defaults, plus (and overridden by) those of `file` when given. */
export async function loadRules(file: string | undefined): Promise<AlertRule[]> {
  if (file === undefined) return [...DEFAULT_RULES];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw invalid(file, '(file)', `cannot be read (${code})`);
  }
  return withDefaults(parseRules(text, file));
}
