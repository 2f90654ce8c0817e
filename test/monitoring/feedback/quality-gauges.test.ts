import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { QualityGauges } from '../../../src/monitoring/feedback/quality-gauges.js';
import type { LabeledPrediction, LabeledWindow } from '../../../src/monitoring/feedback-types.js';

function row(version: number, label: string, predicted: string | undefined): LabeledPrediction {
  return {
    requestId: 'r',
    item: 0,
    version,
    at: '',
    label,
    predicted,
    logged: { inputs: {}, outputs: {}, source: 'model' },
  };
}

describe('QualityGauges', () => {
  it('sets accuracy and weighted F1 per version, drops versions that left the window, keeps figures when a read fails', async () => {
    let window: LabeledWindow | Error = {
      matched: [row(1, 'a', 'a'), row(1, 'b', 'a'), row(2, 'a', 'a')],
      unmatched: 0,
    };
    const errors: unknown[] = [];
    const registry = new Registry();
    const gauges = new QualityGauges(registry, {
      source: {
        labeled: async () => {
          if (window instanceof Error) throw window;
          return window;
        },
        countSince: async () => 0,
      },
      models: ['m'],
      window: { windowMs: 60_000 },
      intervalMs: 60_000,
      settleMs: 10,
      onError: (e) => errors.push(e),
    });
    const text = async () => registry.metrics();
    await gauges.refresh();
    expect(await text()).toContain('ferry_model_accuracy{model="m",version="1"} 0.5');
    expect(await text()).toContain('ferry_model_accuracy{model="m",version="2"} 1');
    // a: P 0.5 R 1 F1 2/3 (support 1); b: F1 0 (support 1) → weighted 1/3.
    expect(await text()).toMatch(/ferry_model_weighted_f1\{model="m",version="1"\} 0\.333333/);
    window = new Error('database down');
    await gauges.refresh();
    expect(errors).toHaveLength(1);
    expect(await text()).toContain('ferry_model_accuracy{model="m",version="2"} 1');
    window = { matched: [row(2, 'a', 'b'), row(2, 'a', undefined)], unmatched: 1 };
    gauges.labelsArrived();
    await new Promise((r) => setTimeout(r, 50));
    await gauges.refresh();
    const after = await text();
    expect(after).not.toContain('version="1"');
    expect(after).toContain('ferry_model_accuracy{model="m",version="2"} 0');
    expect(after).toContain('ferry_model_feedback_compared{model="m",version="2"} 1');
    gauges.labels.inc({ model: 'm', outcome: 'stored' }, 3);
    expect(await text()).toContain('ferry_feedback_labels_total{model="m",outcome="stored"} 3');
    await gauges.stop();
  });
});
