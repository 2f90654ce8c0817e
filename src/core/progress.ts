/** Reports progress of long steps; the CLI picks a bar on a terminal and plain lines otherwise. */
export interface Progress {
  start(label: string, total: number): void;
  tick(done: number, note?: string): void;
  stop(): void;
}

export const silentProgress: Progress = {
  start() {},
  tick() {},
  stop() {},
};
