import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, freshSchema } from '../helpers/postgres.js';
import { ADMIN_TOKEN, createTestRegistry, PROJECTS, startTestServer } from '../helpers/serving.js';

/** A TCP forwarder to the test PostgreSQL: killing it makes the database unreachable for real. */
async function startProxy(targetPort = 5432): Promise<{ port: number; kill(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(targetPort, '127.0.0.1');
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(up).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    kill: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** Collects the server's log lines (pino JSON). */
function logSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { stream, lines };
}

const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

/** Issue 8, item 6: client-facing messages say what failed, never where. */
describe('no internal details in answers', () => {
  it('PostgreSQL unreachable after start: 503s name no host, port, database or user; the log has them', async () => {
    const proxy = await startProxy();
    const schema = freshSchema();
    schemas.push(schema);
    const reg = await createTestRegistry({
      db: `postgres://postgres@127.0.0.1:${proxy.port}/test?schema=${schema}`,
    });
    const log = logSink();
    const server = await startTestServer({
      registry: reg,
      listen: false,
      adminToken: ADMIN_TOKEN,
      logger: { level: 'warn', stream: log.stream },
    });
    try {
      await proxy.kill();
      const answers = [
        await server.app.inject({ url: '/v1/predictions/tagifai/42' }),
        await server.app.inject({
          method: 'POST',
          url: '/v1/experiments/exp-1/events',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          payload: { unit: 'u1', metric: 'click', value: 1, event_id: 'e1' },
        }),
        await server.app.inject({ url: '/v2/models/tagifai' }),
      ];
      for (const res of answers) {
        expect(res.statusCode, res.body).toBeGreaterThanOrEqual(500);
        const id = res.headers['x-request-id'] as string;
        expect(id).toBeTruthy();
        expect(res.body).toContain(id);
        for (const secret of ['127.0.0.1', String(proxy.port), 'postgres', schema, 'ECONNREFUSED']) {
          expect(res.body.toLowerCase()).not.toContain(secret.toLowerCase());
        }
      }
      expect(answers[0]!.json().error.code).toBe('FERRY_DB_UNAVAILABLE');
      expect(answers[0]!.json().error.message).toMatch(/database is unavailable/);
      // The details went to the log, with the request id.
      const id = answers[0]!.headers['x-request-id'] as string;
      const line = log.lines.find((l) => l.includes(id));
      expect(line).toBeDefined();
      expect(line).toContain(String(proxy.port));
      // Predictions do not need the database: still served.
      const ok = await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
      expect(ok.statusCode).toBe(200);
    } finally {
      await server.close();
      await reg.close();
    }
  }, 120_000);

  it('an artifact deleted from disk behind a v2 infer: a 500 without the path', async () => {
    const log = logSink();
    const server = await startTestServer({
      listen: false,
      adminToken: ADMIN_TOKEN,
      logger: { level: 'warn', stream: log.stream },
    });
    try {
      await rm(server.reg.config.artifacts, { recursive: true, force: true });
      // Version 2 is behind no alias: the admin token lets it be loaded on demand, from the deleted file.
      const res = await server.app.inject({
        method: 'POST',
        url: '/v2/models/tagifai/versions/2/infer',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: { inputs: [{ name: 'title', datatype: 'BYTES', shape: [1], data: ['x'] }] },
      });
      expect(res.statusCode).toBe(500);
      const body = res.json() as { error: string };
      expect(typeof body.error).toBe('string');
      expect(body.error).toMatch(/artifact is missing/);
      expect(res.body).not.toContain(server.reg.home);
      expect(res.body).not.toMatch(/\/(tmp|artifacts|home)\b/);
      expect(body.error).toContain(res.headers['x-request-id'] as string);
      expect(log.lines.some((l) => l.includes(server.reg.config.artifacts))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
