/**
 * Measures several targets in short interleaved slices, round after round, each round in a
 * rotated order. On the shared 2-core VM the same server measured twice minutes apart has differed
 * by 50 %, so a ratio is only meaningful between slices of the same round: callers compare
 * `slices[i][round]` with `slices[base][round]` and take the median over rounds.
 */
export interface Target<R> {
  name: string;
  /** One slice; `warmupSeconds` is 3 for a target's first slice and 1 after (connections re-opened). */
  measure: (warmupSeconds: number) => Promise<R>;
}

export async function interleave<R>(targets: readonly Target<R>[], rounds: number): Promise<R[][]> {
  const slices = targets.map(() => [] as R[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (round + k) % targets.length;
      const target = targets[i]!;
      process.stderr.write(`round ${round + 1}/${rounds}: ${target.name}\n`);
      slices[i]!.push(await target.measure(round === 0 ? 3 : 1));
    }
  }
  return slices;
}
