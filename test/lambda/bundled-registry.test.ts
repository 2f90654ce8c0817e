/**
 * The Lambda's read-only registry answers the Models page's reads (one version, no alias history)
 * and refuses every alias move, the rollback included, with 405.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../src/core/errors.js';
import { BundledRegistry } from '../../src/lambda/bundled-registry.js';
import type { Model } from '../../src/model/model.js';
import type { ModelVersion } from '../../src/registry/types.js';

const VERSION: ModelVersion = {
  name: 'tagifai',
  version: 7,
  kind: 'ferry.text-classifier.tfidf-logreg',
  artifactSha256: 'a'.repeat(64),
  artifactSize: 10,
  artifactLocation: 'bundle',
  params: {},
  metrics: { val_f1: 0.8 },
  dataset: {},
  tags: {},
  gitCommit: null,
  createdAt: '2026-12-07T00:00:00.000Z',
  signature: null,
  aliases: [],
};
const registry = new BundledRegistry(VERSION, {} as Model, ['production']);

async function refused(p: Promise<unknown>, code: string, status: number): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FerryError);
  expect((e as FerryError).code).toBe(code);
  expect((e as FerryError).status).toBe(status);
}

describe('BundledRegistry (Lambda) for the admin routes', () => {
  it('lists its one version a page at a time, and no alias history', async () => {
    const page = await registry.listVersions('tagifai', { limit: 50, offset: 0, newestFirst: true });
    expect(page.total).toBe(1);
    expect(page.versions.map((v) => [v.version, v.aliases])).toEqual([[7, ['production']]]);
    expect(
      (await registry.listVersions('tagifai', { limit: 50, offset: 1, newestFirst: true })).versions,
    ).toEqual([]);
    expect(await registry.aliasEvents('tagifai')).toEqual({ events: [], total: 0 });
    await refused(
      registry.listVersions('other', { limit: 1, offset: 0, newestFirst: false }),
      ErrorCode.REGISTRY_NOT_FOUND,
      404,
    );
    await refused(registry.aliasEvents('other'), ErrorCode.REGISTRY_NOT_FOUND, 404);
  });

  it('refuses a rollback as it refuses any alias move (405)', async () => {
    await refused(registry.rollback(), ErrorCode.HTTP_METHOD_NOT_ALLOWED, 405);
    await refused(registry.setAlias(), ErrorCode.HTTP_METHOD_NOT_ALLOWED, 405);
  });
});
