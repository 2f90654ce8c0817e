import { executionAsyncId } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

const AWKWARD_STRINGS = [
  "O'Brien",
  "''",
  'say "hi"',
  "'; DROP TABLE students; --",
  "Robert'); DROP TABLE students;--",
  '日本語 — café — ñandú — 🚀👩🏽‍🔬',
  'back\\slash \\n not a newline',
  '$1 and ?1 and :name and @p',
  'tab\tnewline\ncarriage\r',
  '/* not a comment */ -- nor this',
  '',
];

/**
 * The behaviour every SqlClient must show. `makeClient` returns a client on a namespace the
 * suite may create tables in; the suite calls init() and close() itself.
 */
export function sqlClientConformance(name: string, makeClient: () => Promise<SqlClient>): void {
  describe(`SqlClient conformance: ${name}`, () => {
    let client: SqlClient;
    let table: string;

    beforeEach(async () => {
      client = await makeClient();
      await client.init();
      await client.init(); // init is documented as safe to call twice
      table = `conf_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      await client.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, label TEXT, n INTEGER)`);
    });

    afterEach(async () => {
      await client.execute(`DROP TABLE IF EXISTS ${table}`);
      await client.close();
    });

    describe('placeholders', () => {
      it('binds $n by number, including a reused one', async () => {
        const rows = await client.query('SELECT $2 AS b, $1 AS a, $2 AS b2', ['first', 'second']);
        expect(rows).toEqual([{ b: 'second', a: 'first', b2: 'second' }]);
      });

      it('tells $1 from $10 and $11', async () => {
        const params = Array.from({ length: 11 }, (_, i) => `v${i + 1}`);
        const cols = params.map((_, i) => `$${i + 1} AS c${i + 1}`).join(', ');
        const [row] = await client.query(`SELECT ${cols}`, params);
        expect(row).toMatchObject({ c1: 'v1', c10: 'v10', c11: 'v11' });
      });

      it('leaves a $1 inside a string literal alone', async () => {
        const [row] = await client.query(`SELECT '$1' AS literal, $1 AS bound`, ['x']);
        expect(row).toEqual({ literal: '$1', bound: 'x' });
      });

      it('binds null, numbers and booleans', async () => {
        await client.execute(`INSERT INTO ${table} (id, label, n) VALUES ($1, $2, $3)`, [1, null, -42]);
        const [row] = await client.query(`SELECT id, label, n FROM ${table} WHERE id = $1`, [1]);
        expect(row).toEqual({ id: 1, label: null, n: -42 });
        const [flag] = await client.query('SELECT CASE WHEN $1 THEN 1 ELSE 0 END AS t', [true]);
        expect(flag).toEqual({ t: 1 });
      });
    });

    describe('query and execute', () => {
      it('execute returns the number of rows changed', async () => {
        for (const id of [1, 2, 3]) {
          expect(
            await client.execute(`INSERT INTO ${table} (id, label, n) VALUES ($1, $2, $3)`, [
              id,
              `r${id}`,
              id,
            ]),
          ).toBe(1);
        }
        expect(await client.execute(`UPDATE ${table} SET n = n + 10 WHERE n > $1`, [1])).toBe(2);
        expect(await client.execute(`UPDATE ${table} SET n = 0 WHERE id = $1`, [99])).toBe(0);
        expect(await client.execute(`DELETE FROM ${table} WHERE id <= $1`, [2])).toBe(2);
      });

      it('query returns rows as objects, [] when none, and counts as numbers', async () => {
        expect(await client.query(`SELECT id FROM ${table}`)).toEqual([]);
        await client.execute(`INSERT INTO ${table} (id, label, n) VALUES (1, 'a', 5), (2, 'b', 7)`);
        const rows = await client.query(`SELECT id, label FROM ${table} ORDER BY id`);
        expect(rows).toEqual([
          { id: 1, label: 'a' },
          { id: 2, label: 'b' },
        ]);
        const [agg] = await client.query<{ c: unknown; s: unknown }>(
          `SELECT COUNT(*) AS c, MAX(n) AS s FROM ${table}`,
        );
        expect(agg).toEqual({ c: 2, s: 7 });
      });

      it('query returns the rows of INSERT … RETURNING', async () => {
        const rows = await client.query(
          `INSERT INTO ${table} (id, label, n) VALUES ($1, $2, $3) RETURNING id, label`,
          [7, 'seven', 7],
        );
        expect(rows).toEqual([{ id: 7, label: 'seven' }]);
      });

      it('reports bad SQL and constraint violations as DB_ERROR', async () => {
        await expectFerryError(client.query('SELECT * FROM no_such_table_here'), ErrorCode.DB_ERROR);
        await client.execute(`INSERT INTO ${table} (id) VALUES (1)`);
        await expectFerryError(client.execute(`INSERT INTO ${table} (id) VALUES (1)`), ErrorCode.DB_ERROR);
      });
    });

    describe('transactions', () => {
      it('commits when the function resolves and returns its value', async () => {
        const result = await client.transaction(async (tx) => {
          await tx.execute(`INSERT INTO ${table} (id, n) VALUES (1, 1)`);
          await tx.execute(`INSERT INTO ${table} (id, n) VALUES (2, 2)`);
          return 'done';
        });
        expect(result).toBe('done');
        expect(await client.query(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
      });

      it('rolls back when the function throws, rethrowing the same error', async () => {
        const boom = new Error('boom');
        await expect(
          client.transaction(async (tx) => {
            await tx.execute(`INSERT INTO ${table} (id, n) VALUES (1, 1)`);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await client.query(`SELECT id FROM ${table}`)).toEqual([]);
      });

      it('rolls back everything when a statement fails midway', async () => {
        await expectFerryError(
          client.transaction(async (tx) => {
            await tx.execute(`INSERT INTO ${table} (id, n) VALUES (1, 1)`);
            await tx.execute(`INSERT INTO ${table} (id, n) VALUES (1, 2)`);
          }),
          ErrorCode.DB_ERROR,
        );
        expect(await client.query(`SELECT id FROM ${table}`)).toEqual([]);
        // The client is still usable after a failed transaction.
        await client.transaction((tx) => tx.execute(`INSERT INTO ${table} (id, n) VALUES (3, 3)`));
        expect(await client.query(`SELECT id FROM ${table}`)).toEqual([{ id: 3 }]);
      });

      it('serialises read-then-write transactions that share a lockKey (no lost update)', async () => {
        await client.execute(`INSERT INTO ${table} (id, n) VALUES (1, 0)`);
        const increment = () =>
          client.transaction(
            async (tx) => {
              const [row] = await tx.query<{ n: number }>(`SELECT n FROM ${table} WHERE id = 1`);
              await sleep(5); // widen the window in which an unserialised reader would interleave
              await tx.execute(`UPDATE ${table} SET n = $1 WHERE id = 1`, [Number(row!.n) + 1]);
            },
            { lockKey: `counter:${table}` },
          );
        await Promise.all(Array.from({ length: 10 }, increment));
        expect(await client.query(`SELECT n FROM ${table} WHERE id = 1`)).toEqual([{ n: 10 }]);
      });

      it('runs plain queries started outside a transaction outside it', async () => {
        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        const tx = client.transaction(async (t) => {
          await t.execute(`INSERT INTO ${table} (id, n) VALUES (1, 1)`);
          await held;
          throw new Error('roll back');
        });
        const outside = client.query(`SELECT id FROM ${table}`);
        await sleep(20);
        release();
        await expect(tx).rejects.toThrow();
        expect(await outside).toEqual([]);
      });
    });

    describe('the transaction scope between transactions', () => {
      /** 0 unless promise hooks are on: Node tracks a continuation's async id only with them. */
      const asyncIdInContinuation = async () => {
        await null;
        return executionAsyncId();
      };

      it('leaves no promise hooks on once its transactions end, even overlapping ones', async () => {
        // Node 20 runs promise hooks for every promise of the process while any AsyncLocalStorage
        // is on (8-12 % of /predict's throughput, issue 16): the client turns its scope off again.
        expect(await asyncIdInContinuation()).toBe(0); // nothing else in this process turned them on
        let inside = 0;
        await client.transaction(async (tx) => {
          await tx.execute(`INSERT INTO ${table} (id, label) VALUES (1, 'a')`);
          inside = await asyncIdInContinuation();
        });
        expect(inside).toBeGreaterThan(0); // the scope was on during the transaction
        expect(await asyncIdInContinuation()).toBe(0);
        // Two at once (PostgreSQL runs them on two connections; SQLite one after the other).
        await Promise.all(
          [2, 3].map((id) =>
            client.transaction(async (tx) => {
              await sleep(10);
              await tx.execute(`INSERT INTO ${table} (id, label) VALUES ($1, 'b')`, [id]);
            }),
          ),
        );
        expect(await asyncIdInContinuation()).toBe(0);
        expect(await client.query(`SELECT COUNT(*) AS c FROM ${table}`)).toEqual([{ c: 3 }]);
      });

      it('a continuation of a finished transaction waits its turn instead of joining the next one', async () => {
        let late: Promise<unknown> | undefined;
        await client.transaction(async (tx) => {
          await tx.execute(`INSERT INTO ${table} (id, label) VALUES (1, 'first')`);
          // Started inside the first transaction, it runs after it has committed.
          late = sleep(30).then(() => client.query(`SELECT label FROM ${table} ORDER BY id`));
        });
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const second = client.transaction(async (tx) => {
          await tx.execute(`INSERT INTO ${table} (id, label) VALUES (2, 'second')`);
          await gate;
          throw new Error('rolled back');
        });
        await sleep(60);
        release();
        await expect(second).rejects.toThrow('rolled back');
        // It never saw the second transaction's uncommitted row.
        expect(await late).toEqual([{ label: 'first' }]);
      });
    });

    describe('strings', () => {
      it('round-trips unicode and SQL-special strings unchanged', async () => {
        for (const [i, label] of AWKWARD_STRINGS.entries()) {
          await client.execute(`INSERT INTO ${table} (id, label) VALUES ($1, $2)`, [i, label]);
        }
        const rows = await client.query<{ id: number; label: string }>(
          `SELECT id, label FROM ${table} ORDER BY id`,
        );
        expect(rows.map((r) => r.label)).toEqual(AWKWARD_STRINGS);
        for (const [i, label] of AWKWARD_STRINGS.entries()) {
          expect(await client.query(`SELECT id FROM ${table} WHERE label = $1`, [label])).toEqual([
            { id: i },
          ]);
        }
        // The table survived every "DROP TABLE" above.
        expect(await client.query(`SELECT COUNT(*) AS c FROM ${table}`)).toEqual([
          { c: AWKWARD_STRINGS.length },
        ]);
      });
    });
  });
}
