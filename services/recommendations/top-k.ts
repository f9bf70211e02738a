// Partial selection of the best entries, shared by training (worker) and scoring (event loop), kept
// apart from content-features.ts so the serving thread never loads ml-matrix.

/** The `k` highest entries of `scores` (skipping index `skip` and non-positive scores), best first. */
export function topK(scores: ArrayLike<number>, k: number, skip = -1): { index: number[]; score: number[] } {
  const picked: Array<[number, number]> = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (i === skip || !(s > 0)) continue;
    if (picked.length < k) {
      picked.push([i, s]);
      if (picked.length === k) picked.sort((a, b) => b[1] - a[1]);
    } else if (s > picked[k - 1]![1]) {
      let at = k - 1;
      while (at > 0 && picked[at - 1]![1] < s) at--;
      picked.splice(at, 0, [i, s]);
      picked.pop();
    }
  }
  if (picked.length < k) picked.sort((a, b) => b[1] - a[1]);
  return { index: picked.map((p) => p[0]), score: picked.map((p) => p[1]) };
}
