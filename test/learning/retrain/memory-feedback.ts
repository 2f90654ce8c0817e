import type {
  FeedbackSource,
  LabeledPrediction,
  LabeledWindow,
} from '../../../src/monitoring/feedback-types.js';

/**
 * A FeedbackSource over labeled predictions held in memory: a real implementation of the
 * interface (ranges and counts computed from the records), for tests until the SQL one lands.
 */
export class MemoryFeedbackSource implements FeedbackSource {
  private readonly records: Array<{ model: string; receivedAt: string; labeled: LabeledPrediction }> = [];
  private unmatched = 0;

  add(model: string, receivedAt: string, labeled: LabeledPrediction): void {
    this.records.push({ model, receivedAt, labeled });
  }

  addUnmatched(): void {
    this.unmatched++;
  }

  async labeled(
    model: string,
    range: { readonly since?: string; readonly until?: string; readonly version?: number },
  ): Promise<LabeledWindow> {
    const matched = this.records
      .filter(
        (r) =>
          r.model === model &&
          (range.since === undefined || r.receivedAt >= range.since) &&
          (range.until === undefined || r.receivedAt < range.until) &&
          (range.version === undefined || r.labeled.version === range.version),
      )
      .map((r) => r.labeled);
    return { matched, unmatched: this.unmatched };
  }

  async countSince(model: string, since: string): Promise<number> {
    return this.records.filter((r) => r.model === model && r.receivedAt >= since).length + this.unmatched;
  }
}

/** A labeled text prediction as the feedback join returns it. */
export function labeledText(
  n: number,
  text: { title: string; description: string },
  label: string,
  predicted = 'other',
): LabeledPrediction {
  return {
    requestId: `req-${n}`,
    item: 0,
    version: 1,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    label,
    predicted,
    logged: { ...text, prediction: predicted, probabilities: { [predicted]: 1 }, source: 'model' },
  };
}
