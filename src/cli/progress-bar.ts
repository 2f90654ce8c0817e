import cliProgress from 'cli-progress';
import type { Progress } from '../core/progress.js';

/** A bar on a terminal; plain, rate-limited lines on stderr otherwise (CI logs, pipes). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    let bar: cliProgress.SingleBar | undefined;
    return {
      start(label, total) {
        bar = new cliProgress.SingleBar(
          {
            format: `${label.padEnd(20)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {note}`,
            stream,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { note: '' });
      },
      tick(done, note) {
        bar?.update(done, { note: note ?? '' });
      },
      stop() {
        bar?.stop();
        bar = undefined;
      },
    };
  }
  let label = '';
  let total = 0;
  let lastPrinted = 0;
  let started = 0;
  return {
    start(l, t) {
      label = l;
      total = t;
      lastPrinted = 0;
      started = performance.now();
      stream.write(`${label}: started (${total} steps)\n`);
    },
    tick(done, note) {
      const now = performance.now();
      if (done === total || now - lastPrinted > 2000) {
        lastPrinted = now;
        stream.write(`${label}: ${done}/${total}${note ? ` ${note}` : ''}\n`);
      }
    },
    stop() {
      stream.write(`${label}: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
