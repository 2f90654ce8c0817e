import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../../src/app/open-ferry.js';
import { loadConfig } from '../../../src/core/config.js';
import type { ModelRegistry } from '../../../src/registry/model-registry.js';
import { DEFAULT_MIN_TRAIN_ROWS, decidePromotion } from '../../../src/registry/promotion.js';
import type { ModelVersion } from '../../../src/registry/types.js';
import type { Dataset } from '../../../src/train/dataset.js';
import { trainTextClassifier } from '../../../src/train/pipeline.js';
import { registerTrained } from '../../../src/train/register-trained.js';
import { sampleDataset } from '../../helpers/serving.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const version = (v: number): ModelVersion => ({
  name: 'm',
  version: v,
  kind: 'k',
  artifactSha256: '0'.repeat(64),
  artifactSize: 1,
  artifactLocation: '',
  signature: null,
  params: {},
  metrics: { val_f1: v === 1 ? 0.84 : 1 },
  dataset: {},
  tags: {},
  gitCommit: null,
  createdAt: '',
  aliases: [],
});
const ALL = ['a', 'b', 'c', 'd'];
const opts = { force: false, alias: 'production', minTrainRows: DEFAULT_MIN_TRAIN_ROWS };
const cmp = (candidateF1: number, currentF1: number) => ({
  on: 'the validation split of x',
  rows: 40,
  candidateF1,
  currentF1,
});

describe('decidePromotion (pure)', () => {
  const base = {
    candidate: version(2),
    current: version(1),
    candidateClasses: ALL,
    currentClasses: ALL,
    trainRows: 500,
    comparison: cmp(0.9, 0.85),
  };

  it('promotes a candidate at least as good on the same rows, and says on what', () => {
    const d = decidePromotion(base, opts);
    expect(d.promote).toBe(true);
    expect(d.reason).toContain('both on the validation split of x (40 rows)');
    expect(decidePromotion({ ...base, comparison: cmp(0.85, 0.85) }, opts).promote).toBe(true);
  });

  it('refuses a worse candidate; stored val_f1 of other data plays no part', () => {
    // The candidate's stored val_f1 (1.0) beats the current one's (0.84), as in the report.
    const d = decidePromotion({ ...base, comparison: cmp(0.5, 0.85) }, opts);
    expect(d.promote).toBe(false);
    expect(d.reason).toMatch(/worse .* 0\.5000 vs 0\.8500/);
  });

  it('refuses a candidate trained on fewer rows than the minimum, even with no current version', () => {
    for (const current of [version(1), null]) {
      const d = decidePromotion({ ...base, current, trainRows: 6, comparison: cmp(1, 0.84) }, opts);
      expect(d.promote).toBe(false);
      expect(d.reason).toContain('trained on 6 rows, fewer than the minimum of 100');
    }
    expect(decidePromotion({ ...base, trainRows: 6 }, { ...opts, minTrainRows: 5 }).promote).toBe(true);
  });

  it('refuses a candidate missing any class of the current version', () => {
    const d = decidePromotion({ ...base, candidateClasses: ['a', 'c'], comparison: cmp(1, 0.84) }, opts);
    expect(d.promote).toBe(false);
    expect(d.reason).toContain('the classes b, d');
  });

  it('--force promotes whatever the gate says', () => {
    const d = decidePromotion(
      { ...base, trainRows: 1, candidateClasses: ['a'], comparison: cmp(0, 1) },
      { ...opts, force: true },
    );
    expect(d.promote).toBe(true);
  });
});

describe('registerTrained --promote on a real registry', () => {
  const home = tmpDir('ferry-gate-');
  let registry: ModelRegistry;
  let close: () => Promise<void>;
  const sample = sampleDataset();
  const subset = (n: number, tags: string[]): Dataset => ({
    ...sample,
    source: 'tiny.csv',
    sha256: `tiny-${n}-${tags.join()}`,
    rows: sample.rows.filter((r) => tags.includes(r.tag)).slice(0, n),
  });

  beforeAll(async () => {
    const ferry = await openFerry(loadConfig({}, { home: home.path }));
    registry = ferry.registry;
    close = ferry.close;
    const v1 = trainTextClassifier(sample, { seed: 42, tune: false });
    const r = await registerTrained(registry, v1, {
      name: 'm',
      promote: true,
      force: false,
      alias: 'production',
      gitCommit: null,
    });
    expect(r.promotion?.promote).toBe(true);
  });
  afterAll(async () => {
    await close();
    home.remove();
  });

  it('a 6-row, 2-class candidate with val_f1 1.0 is not promoted (rows, then classes)', async () => {
    const tiny = trainTextClassifier(subset(6, ['computer-vision', 'mlops']), { seed: 1, tune: false });
    const r = await registerTrained(registry, tiny, {
      name: 'm',
      promote: true,
      force: false,
      alias: 'production',
      gitCommit: null,
    });
    expect(r.promotion).toMatchObject({ promote: false });
    expect(r.promotion?.reason).toContain('6 rows');
    const again = await registerTrained(registry, tiny, {
      name: 'm',
      promote: true,
      force: false,
      alias: 'production',
      gitCommit: null,
      minTrainRows: 1,
    });
    expect(again.promotion?.reason).toMatch(/does not know the classes .*natural-language-processing/);
    expect((await registry.resolve('m@production')).version).toBe(1);
  });

  it('compares both versions on the same rows: the validation split, or --eval-loc', async () => {
    const same = trainTextClassifier(sample, { seed: 42, tune: false });
    const r = await registerTrained(registry, same, {
      name: 'm',
      promote: true,
      force: false,
      alias: 'production',
      gitCommit: null,
    });
    // Same file, same split: version 1's val_f1 was measured on exactly these rows by a model that
    // had not seen them, so an identical retrain ties and is promoted.
    expect(r.promotion?.comparison).toMatchObject({ rows: 32 });
    expect(r.promotion?.comparison?.on).toMatch(
      /^the validation split of sample-dataset.csv \(the split m\/1/,
    );
    expect(r.promotion?.comparison?.candidateF1).toBe(r.promotion?.comparison?.currentF1);
    expect(r.promotion?.promote).toBe(true);
    // Another split of the same file: production is scored live on the candidate's validation rows.
    const other = trainTextClassifier(sample, { seed: 5, tune: false });
    const o = await registerTrained(registry, other, {
      name: 'm',
      promote: true,
      force: false,
      alias: 'production',
      gitCommit: null,
    });
    expect(o.promotion?.comparison).toMatchObject({
      on: 'the validation split of sample-dataset.csv',
      rows: 32,
    });
    // A candidate trained on shuffled labels, scored on a given evaluation set, loses there.
    const shuffled: Dataset = {
      ...sample,
      sha256: 'shuffled',
      rows: sample.rows.map((r, i) => ({ ...r, tag: sample.rows[(i * 7 + 3) % sample.rows.length]!.tag })),
    };
    const weak = trainTextClassifier(shuffled, { seed: 42, tune: false });
    const evalSet = { source: 'holdout.csv', rows: sample.rows.slice(0, 80) };
    const w = await registerTrained(registry, weak, {
      name: 'm',
      promote: true,
      force: false,
      alias: 'production',
      gitCommit: null,
      evalSet,
    });
    expect(w.promotion?.comparison).toMatchObject({ on: 'holdout.csv', rows: 80 });
    expect(w.promotion!.comparison!.candidateF1).toBeLessThan(w.promotion!.comparison!.currentF1);
    expect(w.promotion?.promote).toBe(false);
  });
});
