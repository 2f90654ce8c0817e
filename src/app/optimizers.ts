import { ErrorCode, FerryError } from '../core/errors.js';
import type { MeasureReport, OptimizeReport, Optimizers } from '../optimize/optimize-types.js';

/** How a report is shown: a table for the terminal, an SVG or PNG chart for --plot-fp. */
export interface ReportRenderers {
  table(report: OptimizeReport): string;
  svg(report: OptimizeReport): string;
  png(report: OptimizeReport): Promise<Uint8Array>;
}

/** What `ferry optimize` is built from: the methods, the measurement and the renderers, in one place. */
export interface OptimizeKit {
  optimizers: Optimizers;
  measure: MeasureReport;
  renderers: ReportRenderers;
}

function notYet(what: string): FerryError {
  return new FerryError(ErrorCode.OPTIMIZE_UNSUPPORTED, `${what} is not available in this build of Ferry`);
}

/**
 * The one place the methods are assembled. Empty for now (no kind has prune or quantize, distill
 * is refused): the kinds' optimizers, distill, the measurement and the renderers are plugged in here.
 */
export function optimizeKit(): OptimizeKit {
  return {
    optimizers: {
      kinds: [],
      distill: async () => {
        throw notYet('distillation');
      },
    },
    measure: async () => {
      throw notYet('measuring an optimization report');
    },
    renderers: {
      table: (report) =>
        [report.parent, ...report.variants]
          .map(
            (m) =>
              `${m.label.padEnd(28)} ${String(m.ref ?? '-').padEnd(16)} weighted_f1=${m.weightedF1.toFixed(4)}`,
          )
          .join('\n'),
      svg: () => {
        throw notYet('an SVG report');
      },
      png: async () => {
        throw notYet('a PNG report');
      },
    },
  };
}
