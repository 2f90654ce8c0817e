/**
 * A redis-server of the test's own, on a free port with no persistence, for tests that kill Redis
 * or start it late: the machine's Redis (127.0.0.1:6379) is shared and must never be stopped.
 * Fails (never skips) when `redis-server` is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, connect, createServer } from 'node:net';
import { makeTmpDir } from './tmp-dir.js';

/** A TCP port nothing listens on now (the OS picks it; free it and hand it out). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export interface OwnRedis {
  port: number;
  url: string;
  /** Starts the server (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Kills the server if running and removes its directory. */
  close(): Promise<void>;
}

/** A redis-server (not started yet) on a free port, in its own temporary directory. */
export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await makeTmpDir('ferry-redis-');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      await kill();
      let log = '';
      child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir.path,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const c = child;
      c.stdout?.on('data', (d: Buffer) => {
        log += d.toString();
      });
      c.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
      });
      exited = new Promise((r) => c.once('exit', () => r()));
      const spawnError = new Promise<never>((_, reject) => c.once('error', reject));
      const until = Date.now() + 10_000;
      for (;;) {
        if (c.exitCode !== null) throw new Error(`redis-server exited at start:\n${log}`);
        const ok = await Promise.race([canConnect(port), spawnError]);
        if (ok) return;
        if (Date.now() > until) throw new Error(`redis-server did not start on ${port}:\n${log}`);
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
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
