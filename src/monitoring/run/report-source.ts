import { ErrorCode, FerryError } from '../../core/errors.js';
import type { ReferenceProfileStore } from '../profile/profile-store.js';
import { buildDriftReport, type DriftReport, type DriftReportDeps } from '../report/drift-report.js';
import type { ComputeReport, DriftReportLike } from './monitor-loop.js';

/** The loop's view of a drift report: inputs, outputs and the text's domain classifier as features. */
function reportLikeOf(report: DriftReport): DriftReportLike | undefined {
  if (report.status === 'no-data') return undefined;
  const features: Array<DriftReportLike['features'][number]> = [];
  for (const f of [...report.features, ...report.outputs]) {
    // A column with no values on one side has no score worth a gauge (its placeholder is not a reading).
    if (f.drift === null || f.drift.noData) continue;
    features.push({
      feature: f.name,
      method: f.drift.method,
      score: f.drift.score,
      threshold: f.drift.threshold,
      drifted: f.drift.drifted,
      psi: f.drift.psi,
    });
  }
  const text = report.text?.drift;
  if (text) {
    features.push({
      feature: 'text',
      method: text.method,
      score: text.rocAuc,
      threshold: text.threshold,
      drifted: text.drifted,
    });
  }
  const oov = report.text?.oovRate.current;
  return {
    rows: report.counts.analysed,
    datasetDriftShare: report.dataset.share,
    features,
    ...(oov !== null && oov !== undefined ? { oovRate: oov } : {}),
  };
}

/**
 * Reports over the prediction log against each version's reference profile (`monitoring/report/`).
 * A version without a profile is FERRY_MONITOR_NO_REFERENCE: the loop then runs its detectors only.
 */
export function reportSource(
  deps: DriftReportDeps & { readonly profiles: ReferenceProfileStore },
): ComputeReport {
  const { profiles, ...reportDeps } = deps;
  return async (model, window) => {
    const reference = await profiles.get(model.name, model.version);
    if (reference === undefined) {
      throw new FerryError(
        ErrorCode.MONITOR_NO_REFERENCE,
        `${model.name}/${model.version} has no reference profile (\`ferry monitor profile\` makes one)`,
        { details: { model: model.name, version: model.version } },
      );
    }
    return reportLikeOf(await buildDriftReport(reportDeps, { reference, window }));
  };
}
