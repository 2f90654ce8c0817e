import type { FerryConfig } from '../core/config.js';
import { distill } from '../optimize/distill.js';
import { onlineTextOptimizer } from '../optimize/online-text-optimizer.js';
import { onnxOptimizer } from '../optimize/onnx/onnx-optimizer.js';
import type { MeasureReport, OptimizeReport, Optimizers } from '../optimize/optimize-types.js';
import { createMeasureReport } from '../optimize/report/measure.js';
import { renderReportPng } from '../optimize/report/render-png.js';
import { renderReportSvg } from '../optimize/report/render-svg.js';
import { renderReportTable } from '../optimize/report/render-table.js';
import { textClassifierOptimizer } from '../optimize/text-classifier-optimizer.js';
import { kindContextOf } from '../registry/load-model.js';

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

/**
 * The one place the methods are assembled: which kinds can be pruned and quantized (the built-in
 * text classifier; ONNX graphs; the online model, magnitude pruning only), distillation (any teacher with the text contract), the
 * measurement and the renderers. A kind missing here is answered FERRY_OPTIMIZE_UNSUPPORTED with
 * this list.
 */
export function optimizeKit(config: FerryConfig): OptimizeKit {
  const kindContext = kindContextOf(config);
  return {
    optimizers: { kinds: [textClassifierOptimizer, onnxOptimizer, onlineTextOptimizer], distill },
    measure: createMeasureReport({
      cacheDir: kindContext.cacheDir,
      callTimeoutMs: kindContext.callTimeoutMs,
    }),
    renderers: {
      table: renderReportTable,
      svg: renderReportSvg,
      png: (report) => renderReportPng(renderReportSvg(report)),
    },
  };
}
