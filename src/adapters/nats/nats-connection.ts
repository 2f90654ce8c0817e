import type { JetStreamManager } from '@nats-io/jetstream';
import type { createInbox, headers, NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, FerryError } from '../../core/errors.js';

export interface NatsConnectionOptions {
  host: string;
  port: number;
  user: string;
  pass: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxReconnectDelayMs: number;
  name: string;
  /** Told false when the link drops and true when it is back. */
  onStatus(up: boolean): void;
  /** Removes credentials from driver messages. */
  scrub(message: string): string;
  describe: string;
}

/** The first reconnection waits about this long; each further one twice as long, up to the cap. */
const FIRST_RECONNECT_DELAY_MS = 100;
/** Ping every few seconds: a server that stops answering is noticed in ~2 pings, not minutes. */
const PING_INTERVAL_MS = 5000;

/** The connection and the few functions of the NATS packages the adapter calls. */
export interface NatsKit {
  nc: NatsConnection;
  jsm: JetStreamManager;
  headers: typeof headers;
  createInbox: typeof createInbox;
}

/**
 * Opens a NATS connection with JetStream checked (the packages are imported here, on first use, so
 * a process on the embedded log never loads them: ~150 ms of every CLI start), failing fast (FERRY_STREAM_UNAVAILABLE) when the
 * first connection cannot be made; afterwards it reconnects forever with exponential backoff and
 * jitter, reporting the link's state through `onStatus`.
 */
export async function openNatsConnection(o: NatsConnectionOptions): Promise<NatsKit> {
  let transport: typeof import('@nats-io/transport-node');
  let jetstream: typeof import('@nats-io/jetstream');
  try {
    [transport, jetstream] = await Promise.all([
      import('@nats-io/transport-node'),
      import('@nats-io/jetstream'),
    ]);
  } catch (e) {
    throw new FerryError(
      ErrorCode.STREAM_UNAVAILABLE,
      'the "@nats-io/transport-node" and "@nats-io/jetstream" packages are needed for nats:// URLs',
      { cause: e },
    );
  }
  const { connect } = transport;
  let attempt = 0;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [`${o.host}:${o.port}`],
      ...(o.user !== '' && o.pass !== '' ? { user: o.user, pass: o.pass } : {}),
      ...(o.user !== '' && o.pass === '' ? { token: o.user } : {}),
      name: o.name,
      timeout: o.connectTimeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler: () => {
        attempt += 1;
        const cap = Math.min(
          FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(attempt - 1, 16),
          o.maxReconnectDelayMs,
        );
        return cap / 2 + Math.random() * (cap / 2);
      },
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: 2,
    });
  } catch (e) {
    throw unavailableAtOpen(o, e);
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') o.onStatus(false);
      else if (s.type === 'reconnect') {
        attempt = 0;
        o.onStatus(true);
      } else if (s.type === 'close') o.onStatus(false);
    }
  })().catch(() => undefined);
  try {
    const jsm = await jetstream.jetstreamManager(nc, { timeout: o.requestTimeoutMs });
    return { nc, jsm, headers: transport.headers, createInbox: transport.createInbox };
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw unavailableAtOpen(o, e);
  }
}

function unavailableAtOpen(o: NatsConnectionOptions, e: unknown): FerryError {
  const message = o.scrub(e instanceof Error ? e.message : String(e));
  return new FerryError(
    ErrorCode.STREAM_UNAVAILABLE,
    `cannot use NATS JetStream at ${o.describe}: ${message}`,
    {
      details: { host: o.host, port: o.port },
      cause: e,
    },
  );
}
