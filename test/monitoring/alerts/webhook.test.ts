import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/monitoring/alerts/evaluate.js';
import { WebhookNotifier, type WebhookOutcome } from '../../../src/monitoring/alerts/webhook.js';

const ALERT: Alert = {
  rule: 'dataset-drift',
  model: 'tagifai',
  version: 3,
  severity: 'warning',
  metric: 'dataset_drift_share',
  op: '>=',
  threshold: 0.5,
  value: 0.75,
  forMs: 0,
  pendingSince: '2026-01-01T00:00:00.000Z',
  firedAt: '2026-01-01T00:00:00.000Z',
  message: 'drift',
  evidence: { values: { dataset_drift_share: 0.75 } },
};

interface Received {
  body: unknown;
  headers: IncomingMessage['headers'];
}

/** A real HTTP receiver on 127.0.0.1; `answer` decides each response by its attempt number. */
async function receiver(
  answer: (n: number, res: ServerResponse) => void,
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
      answer(got.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/ferry`, got, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

function notifier(url: string, opts: { timeoutMs?: number; retries?: number } = {}) {
  const outcomes: WebhookOutcome[] = [];
  const n = new WebhookNotifier({ url, initialDelayMs: 20, maxDelayMs: 50, ...opts }, (_a, o) =>
    outcomes.push(o),
  );
  return { n, outcomes };
}

describe('alert webhook against a real HTTP receiver', () => {
  it('delivers the alert as JSON, with Basic auth from the URL', async () => {
    const r = await receiver((_n, res) => res.writeHead(204).end());
    const { n, outcomes } = notifier(r.url.replace('http://', 'http://hook:s%40cret@'));
    n.notify(ALERT);
    expect(r.got).toHaveLength(0); // notify returned before the request was even received
    expect(outcomes).toHaveLength(0);
    await n.drain();
    expect(outcomes).toEqual([{ ok: true, attempts: 1 }]);
    expect(r.got).toHaveLength(1);
    expect(r.got[0]!.body).toEqual({ type: 'ferry.alert', alert: ALERT });
    expect(r.got[0]!.headers['content-type']).toBe('application/json');
    expect(r.got[0]!.headers.authorization).toBe(`Basic ${Buffer.from('hook:s@cret').toString('base64')}`);
  });

  it('retries after a 500 and succeeds', async () => {
    const r = await receiver((n, res) => res.writeHead(n === 1 ? 500 : 200).end('ok'));
    const { n, outcomes } = notifier(r.url);
    n.notify(ALERT);
    await n.drain();
    expect(outcomes).toEqual([{ ok: true, attempts: 2 }]);
    expect(r.got).toHaveLength(2);
  });

  it('a receiver that does not answer in time is retried, then fails with FERRY_MONITOR_WEBHOOK', async () => {
    const r = await receiver(() => {}); // never answers
    const { n, outcomes } = notifier(r.url, { timeoutMs: 100, retries: 1 });
    n.notify(ALERT);
    await n.drain();
    expect(r.got).toHaveLength(2);
    const [o] = outcomes;
    expect(o?.ok).toBe(false);
    if (o?.ok === false) {
      expect(o.error.code).toBe('FERRY_MONITOR_WEBHOOK');
      expect(o.error.message).toContain('no answer within 100 ms');
      expect(o.attempts).toBe(2);
    }
  });

  it('a 4xx is final (not retried); a receiver that is down fails after the retries', async () => {
    const r = await receiver((_n, res) => res.writeHead(400).end());
    const bad = notifier(r.url);
    bad.n.notify(ALERT);
    await bad.n.drain();
    expect(r.got).toHaveLength(1);
    expect(bad.outcomes[0]).toMatchObject({ ok: false, attempts: 1 });

    const down = await receiver(() => {});
    const url = down.url;
    down.server.close();
    const gone = notifier(url, { retries: 2 });
    gone.n.notify(ALERT);
    await gone.n.drain();
    expect(gone.outcomes[0]).toMatchObject({ ok: false, attempts: 3 });
    if (gone.outcomes[0]?.ok === false) expect(gone.outcomes[0].error.message).toContain('ECONNREFUSED');
    expect(gone.outcomes[0] && JSON.stringify(gone.outcomes[0])).not.toContain(url);
  });
});
