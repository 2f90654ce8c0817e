/**
 * bench/object-literals: what building one object costs in the shapes Ferry's hot paths used, on
 * the running Node. On Node 20 (V8 11.3) a literal that starts with a spread and then adds keys
 * the spread object lacks leaves V8's fast path (about 1 µs a new key); overriding a key it has,
 * spreading last, or writing the keys out stays in tens of nanoseconds. Baseline: the same object
 * written out key by key. Run: npx tsx bench/object-literals.ts
 */
const N = 200_000;
const base = { model: 'tagifai', version: 1, computedAt: '2026-12-07T00:00:00.000Z', jobId: 'job' };
const probabilities = { mlops: 0.9, other: 0.1 };
let sink: unknown;

const shapes: Record<string, (i: number) => unknown> = {
  'written out (baseline)': (i) => ({
    model: base.model,
    version: base.version,
    computedAt: base.computedAt,
    jobId: base.jobId,
    entityId: `p-${i}`,
    prediction: 'mlops',
    probabilities,
  }),
  'spread, then 3 new keys': (i) => ({ ...base, entityId: `p-${i}`, prediction: 'mlops', probabilities }),
  'spread, then 1 new key': (i) => ({ ...base, entityId: `p-${i}` }),
  'spread, then an existing key': (i) => ({ ...base, version: i }),
  'new keys, then spread last': (i) => ({ entityId: `p-${i}`, prediction: 'mlops', probabilities, ...base }),
  'Object.assign({ new keys }, base)': (i) =>
    Object.assign({ entityId: `p-${i}`, prediction: 'mlops', probabilities }, base),
};

console.log(
  `bench/object-literals: Node ${process.version}, ${N.toLocaleString('en-US')} objects a shape, best of 3`,
);
for (const [name, make] of Object.entries(shapes)) {
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    for (let i = 0; i < N; i++) sink = make(i);
    best = Math.min(best, ((performance.now() - started) * 1e6) / N);
  }
  console.log(`${name.padEnd(36)} ${best.toFixed(0).padStart(6)} ns an object`);
}
if (sink === undefined) throw new Error('unreachable');
