import type { PredictionLogRecord, PredictionLogSink } from '../ports/prediction-log-sink.js';

/**
 * The prediction log of a Lambda function: one JSON line per request on stdout, which the runtime
 * sends to CloudWatch Logs (a function has no database to write to, and its /tmp dies with it).
 * Each line carries `"ferry": "prediction"` so a metric filter or Logs Insights query can pick
 * them out from the server's own lines.
 */
export class StdoutPredictionLog implements PredictionLogSink {
  constructor(private readonly out: (line: string) => void = (line) => process.stdout.write(line)) {}

  async init(): Promise<void> {}

  async write(records: readonly PredictionLogRecord[]): Promise<void> {
    this.out(records.map((r) => `${JSON.stringify({ ferry: 'prediction', ...r })}\n`).join(''));
  }

  async close(): Promise<void> {}
}
