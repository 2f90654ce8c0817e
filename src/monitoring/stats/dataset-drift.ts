import { FerryError } from '../../core/errors.js';
import type { ColumnDrift } from '../drift-types.js';

/*
 * Dataset-level drift, Evidently's DatasetDriftMetric: the share of columns that drifted, and the
 * dataset drifted when that share reaches drift_share (0.5 by default). Columns with no data in
 * the window are left out of both counts (they were not compared).
 */

const DEFAULT_DRIFT_SHARE = 0.5;

export interface DatasetDrift {
  /** Columns compared (those with data on both sides). */
  readonly columns: number;
  readonly driftedColumns: number;
  /** driftedColumns / columns; 0 when no column was compared. */
  readonly share: number;
  readonly threshold: number;
  readonly drifted: boolean;
}

export function datasetDrift(
  columns: readonly ColumnDrift[],
  opts: { readonly driftShare?: number } = {},
): DatasetDrift {
  const threshold = opts.driftShare ?? DEFAULT_DRIFT_SHARE;
  if (!(Number.isFinite(threshold) && threshold > 0 && threshold <= 1)) {
    throw new FerryError('FERRY_MONITOR_INVALID', 'the drift share must be a number in (0, 1]');
  }
  const compared = columns.filter((c) => c.noData !== true);
  const driftedColumns = compared.filter((c) => c.drifted).length;
  const share = compared.length === 0 ? 0 : driftedColumns / compared.length;
  return {
    columns: compared.length,
    driftedColumns,
    share,
    threshold,
    drifted: compared.length > 0 && share >= threshold,
  };
}
