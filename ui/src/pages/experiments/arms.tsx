import { fmtNum, fmtPct } from '../../format.js';
import { armInterval, fmtInterval, fmtP, fmtSignedPct, fmtSignedPoints, powerProgress } from './summary.js';
import type { Analysis, ArmSummary, Comparison, Metric } from './types.js';

function armVersion(a: ArmSummary): string {
  return a.version !== undefined ? `version ${a.version}` : a.alias !== undefined ? `alias ${a.alias}` : '—';
}

/** The arms: weight now, exposed units and requests. */
export function ArmsTable({ a }: { a: Analysis }) {
  return (
    <div class="table-wrap">
      <table data-testid="arms-table">
        <caption class="exp-caption">Arms (the first is the control)</caption>
        <thead>
          <tr>
            <th scope="col">Arm</th>
            <th scope="col">Serves</th>
            <th scope="col" class="num">
              Weight now
            </th>
            <th scope="col" class="num">
              Units
            </th>
            <th scope="col" class="num">
              Requests
            </th>
          </tr>
        </thead>
        <tbody>
          {a.arms.map((arm) => (
            <tr key={arm.name}>
              <th scope="row">{arm.name}</th>
              <td>{armVersion(arm)}</td>
              <td class="num">{fmtPct(arm.weight)}</td>
              <td class="num">{fmtNum(arm.units)}</td>
              <td class="num">{fmtNum(arm.requests)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One metric: each arm's rate (or mean) with a 95 % interval, and each arm against the control. */
export function MetricSection({ a, metric }: { a: Analysis; metric: Metric }) {
  const binary = metric.kind === 'binary';
  const fmtValue = (n: number) => (binary ? fmtPct(n, 2) : fmtNum(n, 4));
  const byArm = new Map(a.comparisons.filter((c) => c.metric === metric.name).map((c) => [c.arm, c]));
  const control = a.arms[0]?.name;
  return (
    <section aria-labelledby={`metric-${metric.name}`}>
      <h3 id={`metric-${metric.name}`}>
        Metric “{metric.name}” ({binary ? 'binary: conversion rate' : 'numeric: mean per unit'})
      </h3>
      <div class="table-wrap">
        <table data-testid={`metric-table-${metric.name}`}>
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col" class="num">
                Units
              </th>
              {binary && (
                <th scope="col" class="num">
                  Converted
                </th>
              )}
              <th scope="col" class="num">
                {binary ? 'Rate' : 'Mean'}
              </th>
              <th scope="col">95 % interval</th>
              <th scope="col">
                {binary ? 'Difference (pp)' : 'Difference'} and relative lift vs {control}, 95 % intervals
              </th>
              <th scope="col" class="num">
                p-value
              </th>
              <th scope="col" class="num">
                Sequential p
              </th>
              <th scope="col" class="num">
                Adjusted p (Holm / BH)
              </th>
              <th scope="col" class="num">
                Chance to beat control
              </th>
            </tr>
          </thead>
          <tbody>
            {a.arms.map((arm, i) => {
              const m = arm.metrics[metric.name];
              const c = byArm.get(arm.name);
              const value = binary ? m?.rate : m?.mean;
              return (
                <tr key={arm.name}>
                  <th scope="row">
                    {arm.name}
                    {i === 0 ? <span class="muted"> (control)</span> : null}
                  </th>
                  <td class="num">{fmtNum(m?.units)}</td>
                  {binary && <td class="num">{fmtNum(m?.conversions)}</td>}
                  <td class="num">{value === null || value === undefined ? '—' : fmtValue(value)}</td>
                  <td>{m && !m.error ? fmtInterval(armInterval(m), fmtValue) : '—'}</td>
                  {i === 0 ? (
                    <td colSpan={5} class="muted">
                      the baseline
                    </td>
                  ) : (
                    <ComparisonCells c={c} binary={binary} />
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Caveats
        comparisons={[...byArm.values()]}
        errors={a.arms.map((arm) => arm.metrics[metric.name]?.error)}
      />
    </section>
  );
}

function ComparisonCells({ c, binary }: { c: Comparison | undefined; binary: boolean }) {
  if (!c || c.pValue === undefined) {
    return (
      <td colSpan={5} class="muted">
        {c?.error ?? c?.reason ?? 'not compared yet'}
      </td>
    );
  }
  // Rates differ by percentage points (pp); means by the metric's own unit.
  const signed = (n: number | null | undefined) =>
    binary ? fmtSignedPoints(n) : `${(n ?? 0) > 0 ? '+' : ''}${fmtNum(n, 4)}`;
  const seq = c.alwaysValid ?? c.msprt;
  return (
    <>
      <td>
        {signed(c.difference)} {fmtInterval(c.differenceCi, signed)}
        <br />
        <span class="muted">
          relative {fmtSignedPct(c.relativeLift)} {fmtInterval(c.relativeLiftCi, (n) => fmtSignedPct(n))}
        </span>
      </td>
      <td class="num">{fmtP(c.pValue)}</td>
      <td class="num">{fmtP(seq?.pValue)}</td>
      <td class="num">
        {fmtP(c.pValueHolm)} / {fmtP(c.pValueBh)}
      </td>
      <td class="num">{fmtPct(c.chanceToBeatControl)}</td>
    </>
  );
}

function Caveats({ comparisons, errors }: { comparisons: Comparison[]; errors: (string | undefined)[] }) {
  const notes = new Set<string>();
  for (const e of errors) if (e) notes.add(e);
  for (const c of comparisons)
    if (!c.sufficientData && c.reason && c.pValue !== undefined) notes.add(c.reason);
  if (notes.size === 0) return null;
  return (
    <ul class="notice notice-warn exp-notes">
      {[...notes].map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  );
}

/** The sample-ratio check in plain words. */
export function SrmNotice({ a }: { a: Analysis }) {
  if (a.srm === null) {
    return (
      <p class="muted" data-testid="srm">
        Sample-ratio check: {a.srmNote ?? 'not run'}.
      </p>
    );
  }
  const split = a.srm.observed.map(
    (n, i) => `${fmtNum(n)} (expected ${fmtNum(Math.round(a.srm!.expected[i] ?? 0))})`,
  );
  if (a.srm.mismatch) {
    return (
      <p class="notice notice-error" role="alert" data-testid="srm">
        <strong>Sample ratio mismatch:</strong> the arms received units in a split that does not match their
        weights (p = {fmtP(a.srm.pValue)}): {split.join(', ')}. Something routes or records units unevenly (a
        broken arm, a bot, exposures lost), so the comparisons below cannot be trusted until the cause is
        found.
      </p>
    );
  }
  return (
    <p class="notice notice-ok" data-testid="srm">
      Sample ratio as expected: the units split across the arms as their weights say (p = {fmtP(a.srm.pValue)}
      ; {split.join(', ')}).
    </p>
  );
}

/** Units so far against the units the power estimate needs. */
export function PowerProgress({ a }: { a: Analysis }) {
  const p = powerProgress(a);
  if (!p || !a.power) {
    return (
      <p class="muted">
        No power estimate: give “power” when creating the experiment to see how many units it needs.
      </p>
    );
  }
  const share = Math.min(1, p.have / Math.max(1, p.need));
  return (
    <div data-testid="power">
      <label for="exp-power-progress">
        Units so far vs needed for “{p.metric}” (power {fmtPct(a.power.power, 0)}, α {fmtNum(a.power.alpha)}):
      </label>{' '}
      <progress id="exp-power-progress" max={p.need} value={Math.min(p.have, p.need)} />{' '}
      <span>
        {fmtNum(p.have)} of {fmtNum(p.need)} units per arm ({fmtPct(share, 0)})
        {p.have >= p.need ? ': enough units to judge' : ''}
      </span>
    </div>
  );
}
