import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PredictionLogRecord, PredictionLogSink } from '../../ports/prediction-log-sink.js';

/** Appends one JSON object per line; each batch is one write so a crash cuts at most the last line. */
export class JsonlPredictionLog implements PredictionLogSink {
  private file: FileHandle | undefined;

  constructor(private readonly path: string) {}

  async init(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.file ??= await open(this.path, 'a');
  }

  async write(records: readonly PredictionLogRecord[]): Promise<void> {
    if (!this.file) await this.init();
    await this.file!.appendFile(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }
}
