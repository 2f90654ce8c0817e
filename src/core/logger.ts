/**
 * The process logger of `ferry start`, `ferry serve` (each worker too) and `ferry batch worker`:
 * pino, human-readable on a terminal, JSON lines otherwise (for log shippers and tests).
 */
import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import pinoPretty from 'pino-pretty';
import { readSetting } from './settings/read-settings.js';

/** FERRY_LOG_FORMAT: `auto` picks `pretty` when stdout is a terminal, `json` otherwise. */
export type LogFormatSetting = 'auto' | 'pretty' | 'json';
export type LogFormat = 'pretty' | 'json';
export type LogLevel = Level | 'silent';

export interface LogSettings {
  /** FERRY_LOG_LEVEL (default info). */
  level: LogLevel;
  /** FERRY_LOG_FORMAT (default auto). */
  format: LogFormatSetting;
}

/** FERRY_LOG_LEVEL and FERRY_LOG_FORMAT, validated by the settings module. */
export function loadLogSettings(env: NodeJS.ProcessEnv): LogSettings {
  return { level: readSetting(env, 'FERRY_LOG_LEVEL'), format: readSetting(env, 'FERRY_LOG_FORMAT') };
}

/** Pretty for a person (a terminal, or asked for), JSON for machines. */
export function chooseLogFormat(setting: LogFormatSetting, isTty: boolean): LogFormat {
  if (setting === 'auto') return isTty ? 'pretty' : 'json';
  return setting;
}

export interface CreateLoggerOptions {
  /** Where lines go (default stdout). */
  destination?: DestinationStream;
  /** Whether that destination is a terminal (default: process.stdout.isTTY). */
  isTty?: boolean;
}

/** The logger and the format it writes. */
export function createLogger(
  settings: LogSettings,
  opts: CreateLoggerOptions = {},
): { logger: Logger; format: LogFormat } {
  const isTty = opts.isTty ?? process.stdout.isTTY === true;
  const format = chooseLogFormat(settings.format, isTty);
  if (format === 'json') {
    // pino's default destination writes synchronously to fd 1: nothing is lost at process.exit.
    const logger =
      opts.destination === undefined
        ? pino({ level: settings.level })
        : pino({ level: settings.level }, opts.destination);
    return { logger, format };
  }
  // The synchronous stream form, in this thread: a worker-thread transport would have to be flushed
  // before every process.exit of the graceful shutdown, and costs a thread per process.
  const pretty = pinoPretty({
    sync: true,
    colorize: isTty,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'hostname',
    ...(opts.destination !== undefined ? { destination: opts.destination } : {}),
  });
  return { logger: pino({ level: settings.level }, pretty), format };
}

/** A logger, or pino's options and stream (tests), or none (`false`: nothing is logged). */
export type LoggerOption = Logger | { level?: string; stream?: DestinationStream } | false;

export function toLogger(option: LoggerOption | undefined): Logger {
  if (option === undefined || option === false) return pino({ enabled: false });
  if ('child' in option && typeof option.child === 'function') return option as Logger;
  const { level, stream } = option as { level?: string; stream?: DestinationStream };
  return stream === undefined ? pino({ level: level ?? 'info' }) : pino({ level: level ?? 'info' }, stream);
}
