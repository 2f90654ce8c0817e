/** What a row of the list and the top of the detail say in words: verdict, progress, the actions. */
import { fmtNum, fmtPct } from '../../format.js';
import type { Analysis, ArmMetricSummary, Experiment, Interval, Kind, Status } from './types.js';

export const KIND_LABEL: Record<Kind, string> = {
  ab: 'A/B test',
  bandit: 'Bandit',
  canary: 'Canary release',
  shadow: 'Shadow test',
};

export function kindLabel(kind: string): string {
  return KIND_LABEL[kind as Kind] ?? kind;
}

export function statusClass(status: Status): string {
  return status === 'running' ? 'badge badge-ok' : status === 'paused' ? 'badge badge-warn' : 'badge';
}

export function isActive(e: Pick<Experiment, 'status'>): boolean {
  return e.status === 'running' || e.status === 'paused';
}

/** The verdict once the experiment ended (from the list's own fields). */
export function finalVerdict(e: Experiment): string | undefined {
  const c = e.conclusion;
  if (e.status === 'stopped') return 'stopped without a decision';
  if (c === null) return undefined;
  if (c.outcome === 'promoted') return `promoted: ${c.winner ?? 'the canary'} won`;
  if (c.outcome === 'rolled_back') return 'rolled back to production';
  if (c.outcome === 'aborted') return 'aborted: back to production';
  return c.winner === null ? 'concluded, no winner' : `winner: ${c.winner}`;
}

/** The verdict of a running or paused experiment from its analysis. */
export function liveVerdict(a: Analysis): string {
  const e = a.experiment;
  if (e.type === 'canary' && a.canary) {
    const s = a.canary.assessment;
    const words = {
      wait: 'waiting for data',
      step: 'healthy: next step due',
      promote: 'healthy: promotion due',
      rollback: 'unhealthy: rollback due',
    };
    return words[s.action] ?? s.action;
  }
  if (e.type === 'shadow' && a.shadow) {
    const r = a.shadow.report;
    return r.agreement === null ? 'nothing compared yet' : `${fmtPct(r.agreement)} agreement`;
  }
  const judged = a.comparisons.filter((c) => c.sufficientData && c.alwaysValid);
  if (judged.length === 0) return 'not enough data yet';
  const sig = judged.filter((c) => c.alwaysValid!.pValue < a.alpha);
  if (sig.length === 0) return 'no significant difference yet (always-valid p-value)';
  return sig
    .map((c) => `${c.arm} ${(c.difference ?? 0) > 0 ? 'beats' : 'trails'} ${c.control} on ${c.metric}`)
    .join('; ');
}

/** Units so far against the power estimate's need, per arm (the smallest arm counts). */
export function powerProgress(a: Analysis): { have: number; need: number; metric: string } | undefined {
  const p = a.power;
  if (!p) return undefined;
  const perArm = a.arms.map((arm) => arm.metrics[p.metric]?.units ?? arm.units);
  const have = perArm.length === 0 ? 0 : Math.min(...perArm);
  return { have, need: p.unitsPerArm, metric: p.metric };
}

export function progressText(a: Analysis): string {
  const e = a.experiment;
  if (e.type === 'canary' && a.canary) {
    const c = a.canary;
    return `step ${c.stepIndex + 1} of ${c.steps.length}, canary at ${fmtPct(c.weight, 0)}`;
  }
  if (e.type === 'shadow' && a.shadow) return `${fmtNum(a.shadow.report.compared)} items compared`;
  const p = powerProgress(a);
  if (p)
    return `${fmtNum(p.have)} of ${fmtNum(p.need)} units per arm (${fmtPct(Math.min(1, p.have / p.need), 0)})`;
  return `${fmtNum(a.units)} units`;
}

/** Progress of an ended experiment from the list's fields. */
export function finalProgress(e: Experiment): string {
  if (e.type === 'canary') {
    const w = e.weights[1];
    return w === undefined ? '—' : `ended with the canary at ${fmtPct(w, 0)}`;
  }
  return 'ended';
}

export type Action = 'pause' | 'resume' | 'stop' | 'conclude' | 'promote' | 'abort';

/** Only the moves the API accepts from this status (src/experiments/experiment-definition.ts nextStatus). */
export function validActions(e: Pick<Experiment, 'status' | 'type'>): Action[] {
  const out: Action[] = [];
  if (e.status === 'running') out.push('pause');
  if (e.status === 'paused') out.push('resume');
  if (e.type === 'canary') {
    if (isActive(e)) out.push('promote', 'abort', 'stop');
    return out;
  }
  if (isActive(e)) out.push('stop');
  if (e.status !== 'concluded') out.push('conclude');
  return out;
}

const Z95 = 1.959963984540054;

/** A 95 % interval of one arm's figure: Wilson's for a rate, the normal one for a mean. */
export function armInterval(m: ArmMetricSummary): Interval | undefined {
  if (m.kind === 'binary') {
    const n = m.units;
    const x = m.conversions;
    if (!(n > 0) || x === undefined) return undefined;
    const p = x / n;
    const z2 = Z95 * Z95;
    const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
  }
  if (m.mean === null || m.mean === undefined || m.variance === null || m.variance === undefined)
    return undefined;
  if (!(m.units > 1)) return undefined;
  const half = Z95 * Math.sqrt(m.variance / m.units);
  return [m.mean - half, m.mean + half];
}

/** "0.0213" / "< 0.0001": p-values read as such. */
export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  if (p < 1e-4) return '< 0.0001';
  return p.toFixed(4);
}

export function fmtInterval(ci: Interval | null | undefined, f: (n: number) => string): string {
  if (!ci) return '—';
  return `[${f(ci[0])}, ${f(ci[1])}]`;
}

/** A signed percentage: +1.2 % / −3.4 %. */
export function fmtSignedPct(r: number | null | undefined, digits = 1): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return '—';
  const s = fmtPct(Math.abs(r), digits);
  return r > 0 ? `+${s}` : r < 0 ? `−${s}` : s;
}

/** A difference of rates in percentage points: +2.31 pp / −0.50 pp. */
export function fmtSignedPoints(d: number | null | undefined): string {
  if (d === null || d === undefined || !Number.isFinite(d)) return '—';
  const s = `${(Math.abs(d) * 100).toFixed(2)} pp`;
  return d > 0 ? `+${s}` : d < 0 ? `−${s}` : s;
}
