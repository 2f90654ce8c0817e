import { type Command, InvalidArgumentError } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { openFerry } from '../../app/open-ferry.js';
import { monitorRunSettings, openMonitor, serveMonitorMetrics } from '../../app/open-monitor-run.js';
import { loadConfig } from '../../core/config.js';
import { createLogger, loadLogSettings } from '../../core/logger.js';
import { AlertStore } from '../../monitoring/alerts/alert-store.js';
import { printJson } from '../output.js';
import { processLogger } from '../process-logger.js';
import { parseIntOption } from './options.js';

interface RunFlags {
  model: string[];
  rules?: string;
  intervalMs?: string;
  window?: string;
  metricsPort?: number;
  metricsHost: string;
  once: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function parsePort(value: string): number {
  const n = parseIntOption(value);
  if (n > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

/** The `monitor` command of `program`: the one another module made, or a new one. */
export function monitorCommandOf(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'monitor') ??
    program
      .command('monitor')
      .description('monitoring: drift reports, reference profiles, the monitor loop and its alerts')
  );
}

/** Adds `run` (the monitor loop) and `alerts` (the stored alerts) to the `monitor` command. */
export function addMonitorRunCommands(monitor: Command): void {
  monitor
    .command('run')
    .description(
      'check models on a schedule: drift reports, streaming detectors, Prometheus gauges, alert rules (webhook: $FERRY_MONITOR_WEBHOOK_URL)',
    )
    .option(
      '--model <ref>',
      'a model to monitor: name, name@alias (followed as it moves) or name/version; repeatable',
      collect,
      [],
    )
    .option(
      '--rules <file>',
      'alert rules (JSON) besides the defaults; a rule of the same name replaces a default',
    )
    .option('--interval-ms <ms>', 'time between ticks (default: $FERRY_MONITOR_INTERVAL_MS or 60000)')
    .option(
      '--window <duration>',
      'the log window of each drift report, e.g. 1h (default: $FERRY_MONITOR_WINDOW_MS or 1h)',
    )
    .option('--metrics-port <port>', 'serve GET /metrics on this port', parsePort)
    .option('--metrics-host <host>', 'address of the metrics endpoint', '127.0.0.1')
    .option('--once', 'run one tick, print what it saw as JSON and exit', false)
    .action(async (flags: RunFlags) => {
      const settings = monitorRunSettings(process.env, {
        models: flags.model,
        ...(flags.rules !== undefined ? { rules: flags.rules } : {}),
        ...(flags.intervalMs !== undefined ? { intervalMs: flags.intervalMs } : {}),
        ...(flags.window !== undefined ? { window: flags.window } : {}),
      });
      // --once prints its JSON on stdout: its log lines go to stderr so the output stays parseable.
      const logger = flags.once
        ? createLogger(loadLogSettings(process.env), {
            destination: process.stderr,
            isTty: process.stderr.isTTY === true,
          }).logger
        : processLogger();
      const ferry = await openFerry(loadConfig());
      const registry = new Registry();
      let metricsServer: { address: string; close(): Promise<void> } | undefined;
      let monitor: Awaited<ReturnType<typeof openMonitor>> | undefined;
      const closeAll = async () => {
        await monitor?.close();
        await metricsServer?.close();
        await ferry.close();
      };
      try {
        monitor = await openMonitor({ ferry, settings, registry, logger });
        if (flags.once) {
          const ticks = await monitor.loop.tick();
          printJson(ticks);
          await closeAll();
          if (ticks.some((t) => t.error !== undefined)) process.exitCode = 1;
          return;
        }
        if (flags.metricsPort !== undefined) {
          collectDefaultMetrics({ register: registry });
          metricsServer = await serveMonitorMetrics(registry, flags.metricsPort, flags.metricsHost);
        }
      } catch (e) {
        await closeAll().catch(() => undefined);
        throw e;
      }
      const running = monitor;
      running.loop.start();
      logger.info(
        {
          models: settings.models,
          intervalMs: settings.intervalMs,
          windowMs: settings.windowMs,
          metrics: metricsServer?.address,
        },
        'ferry monitor running',
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'stopping the monitor after its current tick');
          closeAll()
            .catch((e: unknown) => logger.error({ err: e }, 'error while stopping'))
            .finally(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });

  monitor
    .command('alerts')
    .description('the alerts the monitor fired for a model, newest first, with their evidence')
    .requiredOption('--model <name>', 'the model')
    .option('--limit <n>', 'at most this many (default 50)', parseIntOption, 50)
    .option('--json', 'JSON output', false)
    .action(async (flags: { model: string; limit: number; json: boolean }) => {
      const ferry = await openFerry(loadConfig());
      try {
        const store = new AlertStore(ferry.sql);
        await store.init();
        const alerts = await store.list(flags.model, { limit: flags.limit });
        if (flags.json) return printJson(alerts);
        if (alerts.length === 0) {
          process.stdout.write(`no alerts for ${flags.model}\n`);
          return;
        }
        for (const a of alerts) {
          const state = a.resolvedAt === null ? 'firing' : `resolved ${a.resolvedAt}`;
          process.stdout.write(
            `${a.firedAt}  ${a.severity.padEnd(8)} ${a.rule.padEnd(20)} v${a.version}  ${a.metric} = ${a.value} ${a.op} ${a.threshold}  [${state}; webhook ${a.delivery}]\n`,
          );
        }
      } finally {
        await ferry.close();
      }
    });
}
