// Load generator for bench/experiments: autocannon in its own process, each request with a unit id
// drawn from a pool (so an experiment splits traffic as it would real users). Prints autocannon's JSON.
import autocannon from 'autocannon';

const [url, body, seconds, connections, units] = process.argv.slice(2);
const pool = Array.from({ length: Number(units ?? 10000) }, (_, i) => `user-${i}`);
let next = 0;
const result = await autocannon({
  url,
  method: 'POST',
  connections: Number(connections ?? 64),
  duration: Number(seconds ?? 10),
  headers: { 'content-type': 'application/json' },
  body,
  requests: [
    {
      setupRequest: (req) => {
        next = (next + 7919) % pool.length;
        return { ...req, headers: { ...req.headers, 'x-ferry-unit': pool[next] } };
      },
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests,
    latency: result.latency,
    errors: result.errors,
    non2xx: result.non2xx,
  }),
);
