/**
 * A load generator for bench/streams.ts, run in its own process (so that publishing does not share
 * the processor's event loop): publishes click events at a fixed offered rate for a duration, each
 * event's `at` the wall-clock time it is published (what freshness is measured from).
 *
 * Usage: tsx bench/lib/stream-load.ts <url> <stream> <events/s> <seconds> <users> <id-prefix>
 * Prints one JSON line at the end: {"published": n, "seconds": s, "lateTicks": k}.
 */
import { createProducer } from '../../src/app/open-streams.js';

const [url, stream, rateText, secondsText, usersText, prefix] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const users = Number(usersText);
const TICK_MS = 10;

const producer = createProducer(url!, { keyField: 'user_id' });
const pages = ['home', 'cart', 'checkout', 'search', 'product'];
let n = 0;
let lateTicks = 0;
const start = performance.now();
const inFlight = new Set<Promise<unknown>>();
for (let tick = 0; ; tick++) {
  const due = start + tick * TICK_MS;
  if (due - start >= seconds * 1000) break;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  else lateTicks++;
  // Events owed by now (the rate kept exactly over time, whatever the timer's jitter).
  const owed = Math.floor(((tick + 1) * TICK_MS * rate) / 1000) - n;
  if (owed <= 0) continue;
  const now = Date.now();
  const events = Array.from({ length: owed }, (_, i) => ({
    id: `${prefix}-${n + i}`,
    user_id: `u${(n + i) % users}`,
    at: now,
    amount: (n + i) % 100,
    page: pages[(n + i) % pages.length],
  }));
  n += owed;
  const p = producer.publish(stream!, events).finally(() => inFlight.delete(p));
  inFlight.add(p);
  // Bounded: a transport slower than the offered rate shows as late ticks, not as memory.
  if (inFlight.size >= 8) await Promise.race(inFlight);
}
await Promise.all(inFlight);
await producer.close();
process.stdout.write(
  `${JSON.stringify({ published: n, seconds: (performance.now() - start) / 1000, lateTicks })}\n`,
);
