/**
 * NATS for tests: removing the JetStream streams a test made on a shared server, and a nats-server
 * of the test's own (its own port and store directory) for tests that kill it: the machine's NATS
 * (127.0.0.1:4222) is shared and must never be stopped. Fails (never skips) when nats-server is not
 * installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { jsName } from '../../src/adapters/nats/jetstream-names.js';
import { freePort } from './redis-server.js';
import { makeTmpDir } from './tmp-dir.js';

const NATS_SERVER = process.env.FERRY_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Deletes Ferry's JetStream streams (and dead-letter streams) of these names. */
export async function deleteJetStreams(url: string, streams: readonly string[]): Promise<void> {
  if (streams.length === 0) return;
  const nc = await connect({ servers: url.replace(/^nats:\/\//, ''), timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    for (const s of streams) {
      for (const name of [jsName.stream(s), jsName.dlq(s)]) await jsm.streams.delete(name).catch(() => false);
    }
  } finally {
    await nc.close();
  }
}

export interface OwnNats {
  port: number;
  url: string;
  /** Starts the server (again) on the same port and store; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Kills the server if running and removes its store. */
  close(): Promise<void>;
}

export async function ownNats(): Promise<OwnNats> {
  const port = await freePort();
  const dir = await makeTmpDir('ferry-nats-');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    start: async () => {
      await kill();
      let log = '';
      child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir.path], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const c = child;
      c.stdout?.on('data', (d: Buffer) => {
        log += d.toString();
      });
      c.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
      });
      exited = new Promise((r) => c.once('exit', () => r()));
      const spawnError = new Promise<never>((_, reject) => c.once('error', reject));
      const until = Date.now() + 15_000;
      for (;;) {
        if (c.exitCode !== null) throw new Error(`nats-server exited at start:\n${log}`);
        // Accepting connections is not enough: JetStream must have recovered its store.
        const ok = await Promise.race([canConnect(port), spawnError]);
        if (ok && /Server is ready/.test(log)) return;
        if (Date.now() > until) throw new Error(`nats-server did not start on ${port}:\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill,
    close: async () => {
      await kill();
      await dir.remove();
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
