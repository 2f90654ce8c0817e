import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { ABANDONED, RetrainStore } from '../../../src/learning/retrain/retrain-store.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import { dropSchemas, freshSchema, pgClient } from '../../helpers/postgres.js';

const schema = freshSchema();
const clients = [pgClient(schema), pgClient(schema), pgClient(schema)];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await dropSchemas(schema);
});

describe('RetrainStore on PostgreSQL (three replicas on one schema)', () => {
  it('the lease: one of three concurrent starts wins, the others are busy; finish frees it; an expired run is abandoned', async () => {
    const stores = clients.map((sql) => new RetrainStore({ sql }));
    for (const [i, c] of clients.entries()) {
      await c.init();
      await stores[i]!.init();
    }
    const run = { model: 'tagifai', trigger: 'manual', policy: 'staging', leaseMs: 60_000 };
    const results = await Promise.allSettled(stores.map((s) => s.start(run)));
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe(ErrorCode.RETRAIN_BUSY);
    }
    const id = won[0]!;
    expect(await stores[1]!.renew('tagifai', id, 60_000)).toBe(true);
    expect(await stores[1]!.renew('tagifai', 'someone-else', 60_000)).toBe(false);
    await stores[2]!.finish('tagifai', id, {
      status: 'passed',
      candidateVersion: 3,
      decision: { passed: true },
    });

    // A run whose process died: its lease expires and the next start marks it failed (abandoned).
    const crashed = await stores[0]!.start({ ...run, leaseMs: 1 });
    await new Promise((r) => setTimeout(r, 10));
    const next = await stores[1]!.start(run);
    await expectFerryError(stores[2]!.start(run), ErrorCode.RETRAIN_BUSY, 409);
    const history = await stores[2]!.history('tagifai');
    expect(history.map((h) => [h.id, h.status])).toEqual([
      [next, 'running'],
      [crashed, 'failed'],
      [id, 'passed'],
    ]);
    expect(history[1]!.errorMessage).toBe(ABANDONED);
    expect(history[2]).toMatchObject({ candidateVersion: 3, decision: { passed: true } });
    expect(await stores[0]!.lastStartedAt('tagifai')).toBe(history[0]!.startedAt);
  });
});
