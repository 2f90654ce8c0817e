/**
 * bench/remote-http-client: why the remote-v2 kind calls remote servers with node:http and a
 * keep-alive Agent rather than the global fetch. Small v2-like POSTs to a local node:http server,
 * client and server in this one process (so the figures are CPU per request): the global fetch
 * (undici), node:http with a keep-alive Agent (what remote-v2 uses), node:http with a new socket
 * per request. Run: npx tsx bench/remote-http-client.ts [requests=5000] [concurrency=1]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const answer = JSON.stringify({
  model_name: 'm',
  outputs: [{ name: 'label', datatype: 'BYTES', shape: [1], data: ['mlops'] }],
});
const payload = JSON.stringify({ inputs: [{ name: 'title', datatype: 'BYTES', shape: [1], data: ['x'] }] });

let sockets = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer);
  });
});
server.on('connection', () => sockets++);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/models/m/infer`;

async function viaFetch(): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: payload,
  });
  await res.arrayBuffer();
}

function viaHttp(agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const keepAlive = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
const newSocketEach = new http.Agent({ keepAlive: false });
const cases: Record<string, () => Promise<void>> = {
  'global fetch': viaFetch,
  'http keep-alive agent': () => viaHttp(keepAlive),
  'http new socket each': () => viaHttp(newSocketEach),
};
const N = Number(process.argv[2] ?? 5000);
const C = Number(process.argv[3] ?? 1);
// Two rounds, the second reported, so every case runs warm.
for (const round of [1, 2]) {
  for (const [name, call] of Object.entries(cases)) {
    for (let i = 0; i < 200; i++) await call();
    sockets = 0;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next++ < N) await call();
      }),
    );
    const ms = performance.now() - started;
    if (round === 2) {
      console.log(
        `${name.padEnd(22)} concurrency ${C}: ${(N / (ms / 1000)).toFixed(0)} req/s, new sockets ${sockets}`,
      );
    }
  }
}
server.close();
keepAlive.destroy();
newSocketEach.destroy();
