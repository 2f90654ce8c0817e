import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/hash.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { ModelRegistry, type RegisterMeta } from '../../src/registry/index.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

/** One empty registry storage; `openSql` may be called more than once (each a new connection to it). */
export interface RegistryHarness {
  openSql(): Promise<SqlClient>;
  blobs: BlobStore;
  /** Replaces a stored blob's bytes behind the store's back, as corruption or tampering would. */
  overwriteBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  removeBlob(sha256: string): Promise<void>;
  dispose(): Promise<void>;
}

const bytesOf = (s: string) => new TextEncoder().encode(s);

const META: RegisterMeta = {
  kind: 'tfidf-logreg',
  params: { C: 1.5, ngrams: [1, 2], nested: { lr: 0.01 } },
  metrics: { f1: 0.9047, note: 'fine-tuned — ok ✓' },
  dataset: { path: 'dataset.csv', sha256: 'abc', rows: 764 },
  tags: { owner: "o'brien" },
  gitCommit: '0123abcd',
};

/** A clock that ticks one second per reading, so ordering by time is deterministic. */
function manualClock(start = Date.parse('2025-01-01T00:00:00.000Z')): () => Date {
  let t = start;
  return () => {
    const d = new Date(t);
    t += 1000;
    return d;
  };
}

export function modelRegistryConformance(name: string, makeHarness: () => Promise<RegistryHarness>): void {
  describe(`ModelRegistry conformance: ${name}`, () => {
    let harness: RegistryHarness;
    let clients: SqlClient[];
    let registry: ModelRegistry;

    const openRegistry = async (): Promise<ModelRegistry> => {
      const sql = await harness.openSql();
      clients.push(sql);
      await sql.init();
      const r = new ModelRegistry({ sql, blobs: harness.blobs, clock: manualClock() });
      await r.init();
      return r;
    };

    beforeEach(async () => {
      harness = await makeHarness();
      clients = [];
      registry = await openRegistry();
    });

    afterEach(async () => {
      for (const c of clients) await c.close();
      await harness.dispose();
    });

    describe('register and resolve', () => {
      it('numbers versions from 1 and records the artifact and metadata', async () => {
        const artifact = bytesOf('model v1');
        const v1 = await registry.register('tagifai', artifact, META);
        expect(v1).toMatchObject({
          name: 'tagifai',
          version: 1,
          kind: META.kind,
          artifactSha256: sha256Hex(artifact),
          artifactSize: artifact.byteLength,
          params: META.params,
          metrics: META.metrics,
          dataset: META.dataset,
          tags: META.tags,
          gitCommit: '0123abcd',
          aliases: [],
        });
        expect(new Date(v1.createdAt).toISOString()).toBe(v1.createdAt);
        expect(v1.artifactLocation).toContain(v1.artifactSha256);
        const v2 = await registry.register('tagifai', bytesOf('model v2'), {
          ...META,
          tags: undefined,
          gitCommit: undefined,
        });
        expect(v2).toMatchObject({ version: 2, tags: {}, gitCommit: null });
        expect(await registry.resolve('tagifai/1')).toEqual(v1);
        expect(await registry.resolve('tagifai/2')).toEqual(v2);
      });

      it('is safe to init twice', async () => {
        await registry.init();
        await registry.register('m', bytesOf('x'), META);
        await registry.init();
        expect((await registry.resolve('m/1')).version).toBe(1);
      });

      it('keeps one blob for identical artifacts but a version each', async () => {
        const a = await registry.register('m', bytesOf('same'), META);
        const b = await registry.register('m', bytesOf('same'), META);
        expect([a.version, b.version]).toEqual([1, 2]);
        expect(a.artifactSha256).toBe(b.artifactSha256);
      });

      it('gives 8 concurrent registers the distinct versions 1..8', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => registry.register('busy', bytesOf(`artifact ${i}`), META)),
        );
        expect(results.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect((await registry.list('busy')).map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });

      it('gives concurrent registers through two separate connections distinct consecutive versions', async () => {
        const other = await openRegistry();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? registry : other).register('shared', bytesOf(`artifact ${i}`), META),
          ),
        );
        expect(results.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it('rejects invalid model names and metadata', async () => {
        for (const bad of ['', 'Tagifai', 'has space', '-lead', 'a/b', 'a@b', 'x'.repeat(64)]) {
          await expectFerryError(
            registry.register(bad, bytesOf('x'), META),
            ErrorCode.REGISTRY_INVALID_NAME,
            400,
          );
        }
        await expectFerryError(
          registry.register('m', bytesOf('x'), { ...META, kind: '' }),
          ErrorCode.REGISTRY_INVALID_META,
          400,
        );
        expect(await registry.listModels()).toEqual([]);
      });
    });

    describe('refs and not-found', () => {
      it('rejects malformed refs with REGISTRY_INVALID_REF', async () => {
        for (const bad of ['', 'm@', 'm/', 'm/0', 'm/x', 'm@1', 'M@prod', '@prod', 'm/1@prod']) {
          await expectFerryError(registry.resolve(bad), ErrorCode.REGISTRY_INVALID_REF, 400);
        }
      });

      it('reports an unknown model, alias or version as REGISTRY_NOT_FOUND', async () => {
        await expectFerryError(registry.resolve('ghost'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await registry.register('m', bytesOf('x'), META);
        const noAlias = await expectFerryError(registry.resolve('m'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        expect(noAlias.details).toMatchObject({ name: 'm', versions: '1..1' });
        await expectFerryError(registry.resolve('m@staging'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await expectFerryError(registry.resolve('m/2'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await expectFerryError(registry.resolve('ghost/1'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await expectFerryError(registry.aliases('ghost'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await expectFerryError(registry.loadArtifact('ghost@production'), ErrorCode.REGISTRY_NOT_FOUND, 404);
      });
    });

    describe('aliases', () => {
      it('moves aliases atomically, returns the previous version and resolves bare names to production', async () => {
        for (const i of [1, 2, 3]) await registry.register('m', bytesOf(`v${i}`), META);
        expect(await registry.setAlias('m', 'production', 1)).toBeNull();
        expect((await registry.resolve('m')).version).toBe(1);
        expect(await registry.setAlias('m', 'production', 2, 'better f1')).toBe(1);
        expect(await registry.setAlias('m', 'staging', 3)).toBeNull();
        expect(await registry.aliases('m')).toEqual({ production: 2, staging: 3 });
        const resolved = await registry.resolve('m@production');
        expect(resolved).toMatchObject({ version: 2, aliases: ['production'] });
        expect((await registry.resolve('m/3')).aliases).toEqual(['staging']);
      });

      it('does not record a move when the alias already points at the version', async () => {
        await registry.register('m', bytesOf('v1'), META);
        await registry.setAlias('m', 'production', 1);
        expect(await registry.setAlias('m', 'production', 1)).toBe(1);
        expect(await registry.aliasHistory('m', 'production')).toHaveLength(1);
      });

      it('refuses an alias to a missing version and leaves the alias as it was', async () => {
        await registry.register('m', bytesOf('v1'), META);
        await registry.setAlias('m', 'production', 1);
        await expectFerryError(registry.setAlias('m', 'production', 9), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await expectFerryError(
          registry.setAlias('ghost', 'production', 1),
          ErrorCode.REGISTRY_NOT_FOUND,
          404,
        );
        expect(await registry.aliases('m')).toEqual({ production: 1 });
        expect(await registry.aliasHistory('m', 'production')).toHaveLength(1);
      });

      it('rejects invalid aliases and versions', async () => {
        await registry.register('m', bytesOf('v1'), META);
        await expectFerryError(registry.setAlias('m', '42', 1), ErrorCode.REGISTRY_INVALID_NAME, 400);
        await expectFerryError(registry.setAlias('m', 'Prod', 1), ErrorCode.REGISTRY_INVALID_NAME, 400);
        await expectFerryError(registry.setAlias('m', 'production', 0), ErrorCode.REGISTRY_INVALID_REF, 400);
        await expectFerryError(
          registry.setAlias('m', 'production', 1.5),
          ErrorCode.REGISTRY_INVALID_REF,
          400,
        );
      });

      it('deletes aliases and records the deletion', async () => {
        await registry.register('m', bytesOf('v1'), META);
        await registry.setAlias('m', 'staging', 1);
        expect(await registry.deleteAlias('m', 'staging')).toBe(1);
        expect(await registry.deleteAlias('m', 'staging')).toBeNull();
        expect(await registry.aliases('m')).toEqual({});
        await expectFerryError(registry.resolve('m@staging'), ErrorCode.REGISTRY_NOT_FOUND);
        const [latest] = await registry.aliasHistory('m', 'staging');
        expect(latest).toMatchObject({ fromVersion: 1, toVersion: null });
      });

      it('keeps the alias history newest first with reasons', async () => {
        for (const i of [1, 2, 3]) await registry.register('m', bytesOf(`v${i}`), META);
        await registry.setAlias('m', 'production', 1);
        await registry.setAlias('m', 'production', 2, 'better f1');
        await registry.setAlias('m', 'staging', 3);
        await registry.setAlias('m', 'production', 3, 'canary passed');
        const history = await registry.aliasHistory('m', 'production');
        expect(history.map((e) => [e.fromVersion, e.toVersion, e.reason])).toEqual([
          [2, 3, 'canary passed'],
          [1, 2, 'better f1'],
          [null, 1, null],
        ]);
        expect(history.every((e) => e.name === 'm' && e.alias === 'production' && e.id.length > 0)).toBe(
          true,
        );
        expect(history[0]!.at > history[1]!.at).toBe(true);
        expect(await registry.aliasHistory('m', 'shadow')).toEqual([]);
      });
    });

    describe('rollback', () => {
      it('moves the alias back to where it pointed before its last move', async () => {
        for (const i of [1, 2, 3]) await registry.register('m', bytesOf(`v${i}`), META);
        await registry.setAlias('m', 'production', 1);
        await registry.setAlias('m', 'production', 2);
        await registry.setAlias('m', 'production', 3);
        expect(await registry.rollback('m')).toEqual({ name: 'm', alias: 'production', from: 3, to: 2 });
        expect((await registry.resolve('m')).version).toBe(2);
        // A rollback is itself a move, so rolling back again undoes it.
        expect(await registry.rollback('m', 'production')).toMatchObject({ from: 2, to: 3 });
        expect((await registry.aliasHistory('m', 'production'))[0]).toMatchObject({ reason: 'rollback' });
      });

      it('restores a deleted alias', async () => {
        await registry.register('m', bytesOf('v1'), META);
        await registry.setAlias('m', 'staging', 1);
        await registry.deleteAlias('m', 'staging');
        expect(await registry.rollback('m', 'staging')).toEqual({
          name: 'm',
          alias: 'staging',
          from: null,
          to: 1,
        });
        expect(await registry.aliases('m')).toEqual({ staging: 1 });
      });

      it('refuses when there is no earlier version', async () => {
        await registry.register('m', bytesOf('v1'), META);
        await expectFerryError(registry.rollback('m'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await registry.setAlias('m', 'production', 1);
        await expectFerryError(registry.rollback('m'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        expect(await registry.aliases('m')).toEqual({ production: 1 });
        await expectFerryError(registry.rollback('ghost'), ErrorCode.REGISTRY_NOT_FOUND, 404);
      });
    });

    describe('list', () => {
      it('lists versions with their aliases, and models with summaries', async () => {
        await registry.register('beta', bytesOf('b1'), META);
        await registry.register('alpha', bytesOf('a1'), META);
        await registry.register('alpha', bytesOf('a2'), META);
        await registry.setAlias('alpha', 'production', 2);
        await registry.setAlias('alpha', 'champion', 2);
        const all = await registry.list();
        expect(all.map((v) => [v.name, v.version, v.aliases])).toEqual([
          ['alpha', 1, []],
          ['alpha', 2, ['champion', 'production']],
          ['beta', 1, []],
        ]);
        expect((await registry.list('alpha')).map((v) => v.version)).toEqual([1, 2]);
        // An unknown model is not found, as on every read by name; not an empty list.
        await expectFerryError(registry.list('ghost'), ErrorCode.REGISTRY_NOT_FOUND, 404);
        await expectFerryError(
          registry.deleteAlias('ghost', 'production'),
          ErrorCode.REGISTRY_NOT_FOUND,
          404,
        );
        expect(await registry.deleteAlias('alpha', 'nothing')).toBeNull();
        const models = await registry.listModels();
        expect(models.map(({ createdAt: _, ...rest }) => rest)).toEqual([
          { name: 'alpha', versionCount: 2, latestVersion: 2, aliases: { champion: 2, production: 2 } },
          { name: 'beta', versionCount: 1, latestVersion: 1, aliases: {} },
        ]);
      });
    });

    describe('pages (the dashboard reads these)', () => {
      it('listVersions cuts a page in either order and counts every version', async () => {
        for (const i of [1, 2, 3, 4, 5]) await registry.register('m', bytesOf(`v${i}`), META);
        await registry.register('other', bytesOf('o1'), META);
        await registry.setAlias('m', 'production', 4);
        const newest = await registry.listVersions('m', { limit: 2, offset: 0, newestFirst: true });
        expect(newest.total).toBe(5);
        expect(newest.versions.map((v) => [v.version, v.aliases])).toEqual([
          [5, []],
          [4, ['production']],
        ]);
        const tail = await registry.listVersions('m', { limit: 2, offset: 4, newestFirst: true });
        expect(tail.versions.map((v) => v.version)).toEqual([1]);
        const oldest = await registry.listVersions('m', { limit: 3, offset: 1, newestFirst: false });
        expect(oldest.versions.map((v) => v.version)).toEqual([2, 3, 4]);
        expect(oldest.versions[0]).toEqual((await registry.list('m'))[1]);
        expect(
          (await registry.listVersions('m', { limit: 5, offset: 9, newestFirst: false })).versions,
        ).toEqual([]);
        await expectFerryError(
          registry.listVersions('ghost', { limit: 1, offset: 0, newestFirst: true }),
          ErrorCode.REGISTRY_NOT_FOUND,
          404,
        );
      });

      it('refuses a move or rollback whose expected current version is stale (REGISTRY_ALIAS_MOVED)', async () => {
        for (const i of [1, 2, 3]) await registry.register('m', bytesOf(`v${i}`), META);
        expect(await registry.setAlias('m', 'production', 1, 'first', null)).toBeNull();
        await expectFerryError(
          registry.setAlias('m', 'production', 2, 'x', null),
          ErrorCode.REGISTRY_ALIAS_MOVED,
          409,
        );
        await expectFerryError(
          registry.setAlias('m', 'production', 2, 'x', 3),
          ErrorCode.REGISTRY_ALIAS_MOVED,
          409,
        );
        expect(await registry.setAlias('m', 'production', 2, 'x', 1)).toBe(1);
        await expectFerryError(
          registry.rollback('m', 'production', 'r', { from: 1 }),
          ErrorCode.REGISTRY_ALIAS_MOVED,
          409,
        );
        await expectFerryError(
          registry.rollback('m', 'production', 'r', { from: 2, to: 3 }),
          ErrorCode.REGISTRY_ALIAS_MOVED,
          409,
        );
        expect(await registry.aliases('m')).toEqual({ production: 2 });
        expect((await registry.aliasEvents('m', { limit: 10, offset: 0 })).total).toBe(2);
        expect(await registry.rollback('m', 'production', 'r', { from: 2, to: 1 })).toMatchObject({
          from: 2,
          to: 1,
        });
      });

      it('aliasEvents pages every alias move newest first, or one alias’s, with the total', async () => {
        for (const i of [1, 2, 3]) await registry.register('m', bytesOf(`v${i}`), META);
        await registry.setAlias('m', 'production', 1, 'first');
        await registry.setAlias('m', 'staging', 2, '<b>html</b>');
        await registry.setAlias('m', 'production', 3, 'third');
        await registry.deleteAlias('m', 'staging', 'gone');
        const all = await registry.aliasEvents('m', { limit: 3, offset: 0 });
        expect(all.total).toBe(4);
        expect(all.events.map((e) => [e.alias, e.fromVersion, e.toVersion, e.reason])).toEqual([
          ['staging', 2, null, 'gone'],
          ['production', 1, 3, 'third'],
          ['staging', null, 2, '<b>html</b>'],
        ]);
        expect(
          (await registry.aliasEvents('m', { limit: 3, offset: 3 })).events.map((e) => e.reason),
        ).toEqual(['first']);
        const prod = await registry.aliasEvents('m', { limit: 10, offset: 0, alias: 'production' });
        expect(prod.total).toBe(2);
        expect(prod.events).toEqual(await registry.aliasHistory('m', 'production'));
        await expectFerryError(
          registry.aliasEvents('ghost', { limit: 1, offset: 0 }),
          ErrorCode.REGISTRY_NOT_FOUND,
          404,
        );
      });
    });

    describe('alias moves verify the artifact first (issue 8, item 8)', () => {
      it('refuses to move an alias to a tampered, truncated or missing artifact, and changes nothing', async () => {
        for (const i of [1, 2, 3, 4]) await registry.register('m', bytesOf(`artifact ${i}`), META);
        await registry.setAlias('m', 'production', 1);
        const [, v2, v3, v4] = await registry.list('m');
        await harness.overwriteBlob(v2!.artifactSha256, bytesOf('artifact X'));
        await harness.overwriteBlob(v3!.artifactSha256, bytesOf('artifact'));
        await harness.removeBlob(v4!.artifactSha256);
        for (const [version, reason] of [
          [2, ErrorCode.REGISTRY_CHECKSUM_MISMATCH],
          [3, ErrorCode.REGISTRY_CHECKSUM_MISMATCH],
          [4, ErrorCode.REGISTRY_ARTIFACT_MISSING],
        ] as const) {
          const error = await expectFerryError(
            registry.setAlias('m', 'production', version),
            ErrorCode.REGISTRY_UNLOADABLE_VERSION,
            409,
          );
          expect(error.details).toMatchObject({ name: 'm', alias: 'production', version, reason });
          await expectFerryError(
            registry.setAlias('m', 'staging', version),
            ErrorCode.REGISTRY_UNLOADABLE_VERSION,
            409,
          );
        }
        expect(await registry.aliases('m')).toEqual({ production: 1 });
        expect(await registry.aliasHistory('m', 'production')).toHaveLength(1);
      });

      it('refuses a rollback to a version whose artifact went bad', async () => {
        for (const i of [1, 2]) await registry.register('m', bytesOf(`artifact ${i}`), META);
        await registry.setAlias('m', 'production', 1);
        await registry.setAlias('m', 'production', 2);
        const [v1] = await registry.list('m');
        await harness.overwriteBlob(v1!.artifactSha256, bytesOf('artifact 9'));
        await expectFerryError(registry.rollback('m'), ErrorCode.REGISTRY_UNLOADABLE_VERSION, 409);
        expect(await registry.aliases('m')).toEqual({ production: 2 });
        expect(await registry.aliasHistory('m', 'production')).toHaveLength(2);
      });

      it('runs the decoder it is given and refuses an artifact that does not decode', async () => {
        const sql = await harness.openSql();
        clients.push(sql);
        await sql.init();
        const decoding = new ModelRegistry({
          sql,
          blobs: harness.blobs,
          verifyArtifact: (bytes) => {
            if (new TextDecoder().decode(bytes).startsWith('garbage')) throw new Error('does not decode');
          },
        });
        await decoding.init();
        await decoding.register('m', bytesOf('fine'), META);
        await decoding.register('m', bytesOf('garbage, checksum fine'), META);
        await decoding.setAlias('m', 'production', 1);
        const error = await expectFerryError(
          decoding.setAlias('m', 'production', 2),
          ErrorCode.REGISTRY_UNLOADABLE_VERSION,
          409,
        );
        expect(error.details).toMatchObject({ reason: ErrorCode.MODEL_INVALID_ARTIFACT });
        expect(await decoding.aliases('m')).toEqual({ production: 1 });
      });
    });

    describe('artifacts', () => {
      it('loads the artifact it registered', async () => {
        const artifact = bytesOf('{"weights":[1,2,3]}');
        await registry.register('m', artifact, META);
        await registry.setAlias('m', 'production', 1);
        const loaded = await registry.loadArtifact('m');
        expect(loaded.version.version).toBe(1);
        expect(Array.from(loaded.bytes)).toEqual(Array.from(artifact));
      });

      it('refuses a tampered artifact of the same size', async () => {
        const v = await registry.register('m', bytesOf('genuine weights'), META);
        await harness.overwriteBlob(v.artifactSha256, bytesOf('evil!! weights'.padEnd(15, '!')));
        const error = await expectFerryError(
          registry.loadArtifact('m/1'),
          ErrorCode.REGISTRY_CHECKSUM_MISMATCH,
          500,
        );
        expect(error.details).toMatchObject({ expectedSha256: v.artifactSha256 });
      });

      it('refuses a truncated artifact', async () => {
        const original = bytesOf('a longer artifact that gets cut short');
        const v = await registry.register('m', original, META);
        await harness.overwriteBlob(v.artifactSha256, original.slice(0, original.byteLength - 5));
        await expectFerryError(registry.loadArtifact('m/1'), ErrorCode.REGISTRY_CHECKSUM_MISMATCH, 500);
      });

      it('reports a missing artifact', async () => {
        const v = await registry.register('m', bytesOf('soon gone'), META);
        await harness.removeBlob(v.artifactSha256);
        await expectFerryError(registry.loadArtifact('m/1'), ErrorCode.REGISTRY_ARTIFACT_MISSING, 500);
      });
    });
  });
}
