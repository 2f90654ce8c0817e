/**
 * The drift report as GET /v1/monitoring/{model} answers it (src/monitoring/report/drift-report.ts,
 * schema 1), the fields the page reads. Kept here: the dashboard does not import the server's code.
 */

export interface ColumnDrift {
  method: string;
  score: number;
  threshold: number;
  drifted: boolean;
  referenceCount: number;
  currentCount: number;
  psi: number;
  noData?: true;
}

export interface SideStats {
  count: number;
  missing: number;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
}

export type Histogram =
  | { type: 'numeric'; edges: number[]; reference: number[]; current: number[] }
  | { type: 'categorical'; categories: string[]; reference: number[]; current: number[] };

export interface FeatureDrift {
  name: string;
  type: 'numeric' | 'categorical';
  drift: ColumnDrift | null;
  note?: string;
  reference: SideStats;
  current: SideStats;
  histogram: Histogram | null;
}

export interface DriftReport {
  schema: number;
  model: string;
  version: number;
  status: 'ok' | 'no-data';
  generatedAt: string;
  window: { since: string; until: string };
  reference: { source: string; rows: number; createdAt: string };
  counts: { requests: number; items: number; analysed: number; truncatedRequests: number };
  features: FeatureDrift[];
  outputs: FeatureDrift[];
  text: {
    drift: {
      rocAuc: number;
      threshold: number;
      drifted: boolean;
      topTerms: string[];
      referenceCount: number;
      currentCount: number;
      noData?: true;
    } | null;
    oovRate: { reference: number; current: number | null };
    vocabularySize: number;
  } | null;
  dataset: { columns: number; driftedColumns: number; share: number; threshold: number; drifted: boolean };
  quality: {
    labeled: number;
    unmatched: number;
    versions: Array<{ version: number; labeled: number; accuracy: number; f1: number }>;
  } | null;
}

/** Tests whose score is a p-value (drift below the threshold); the others are distances. */
export const P_VALUE_METHODS: ReadonlySet<string> = new Set(['ks', 'chi-square', 'z-test']);
