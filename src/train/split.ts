import { seededRandom, shuffleInPlace } from '../core/random.js';

function indicesByClass(labels: readonly string[]): Map<string, number[]> {
  const byClass = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const list = byClass.get(l) ?? [];
    list.push(i);
    byClass.set(l, list);
  });
  return new Map([...byClass].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Stratified, seeded split: each class keeps its share in both parts. Returns sorted row indices. */
export function stratifiedSplit(
  labels: readonly string[],
  testFraction: number,
  seed: number,
): { train: number[]; test: number[] } {
  const random = seededRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const members of indicesByClass(labels).values()) {
    shuffleInPlace(members, random);
    const nTest = members.length < 2 ? 0 : Math.max(1, Math.round(members.length * testFraction));
    test.push(...members.slice(0, nTest));
    train.push(...members.slice(nTest));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** Stratified k-fold: fold f is the test part of split f. Every row is in exactly one test fold. */
export function stratifiedKFold(
  labels: readonly string[],
  k: number,
  seed: number,
): { train: number[]; test: number[] }[] {
  const random = seededRandom(seed);
  const foldOf = new Int32Array(labels.length);
  let offset = 0;
  for (const members of indicesByClass(labels).values()) {
    shuffleInPlace(members, random);
    // Continue the round-robin across classes so small classes do not all land in fold 0.
    members.forEach((row, i) => {
      foldOf[row] = (offset + i) % k;
    });
    offset = (offset + members.length) % k;
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    foldOf.forEach((fold, row) => {
      (fold === f ? test : train).push(row);
    });
    return { train, test };
  });
}
