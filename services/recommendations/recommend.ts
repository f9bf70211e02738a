// Scoring against a model: pure functions, cheap enough for the event loop (a few thousand operations
// over precomputed neighbour lists).
import { topK } from "./top-k.ts";
import type { RecommendationModel, SparseRows } from "./recommendation-model.ts";

/** How a recommendation was found (the proto's Reason, by name). */
export type RecommendationReason = "collaborative" | "content" | "popular";

/** One ranked product. */
export interface Scored {
  readonly productId: string;
  readonly score: number;
  readonly reason: RecommendationReason;
}

/** Weights of the hybrid score; the eval (bench/recommendations) is where they are tuned. */
export interface BlendWeights {
  /** Item-item neighbours of what the user bought. */
  readonly collaborative: number;
  /** Cosine of the user's TF-IDF profile with the product's. */
  readonly content: number;
  /** Recent sales. */
  readonly popular: number;
}

/** The blend the service uses. */
export const DEFAULT_BLEND: BlendWeights = { collaborative: 0.5, content: 0.6, popular: 1 };

/** A model with its product and user indexes; built once per model (at its swap), not per call. */
export interface ModelView {
  readonly model: RecommendationModel;
  readonly indexOf: ReadonlyMap<string, number>;
  readonly userOf: ReadonlyMap<string, number>;
}

/** Wraps a model for scoring. */
export function viewOf(model: RecommendationModel): ModelView {
  return { model, indexOf: new Map(model.productIds.map((id, i) => [id, i])), userOf: new Map(model.users.ids.map((id, u) => [id, u])) };
}

/** What `userId` bought (product indices) and how much each counts now; undefined for a user the model never saw. */
export function historyOf(view: ModelView, userId: string): { index: number[]; weight: number[] } | undefined {
  const u = view.userOf.get(userId);
  if (u === undefined) return undefined;
  const { offsets, index, value } = view.model.users.history;
  return { index: Array.from(index.subarray(offsets[u]!, offsets[u + 1]!)), weight: Array.from(value.subarray(offsets[u]!, offsets[u + 1]!)) };
}

/**
 * Products for a user: from their purchases, or, for a user with none, from `contextIds` (what they
 * look at) by the same blend; with neither, the recent best sellers. Never what they already bought.
 */
export function recommendForUser(view: ModelView, userId: string, contextIds: readonly string[], limit: number, blend = DEFAULT_BLEND): Scored[] {
  const { model } = view;
  const history = historyOf(view, userId);
  const seeds = history ?? seedsOf(view, contextIds);
  const n = model.productIds.length;
  if (seeds.index.length === 0) return popular(model, new Set(), limit);

  // Typed arrays and no per-product or per-call allocation: a call costs tens of microseconds.
  const collaborative = zeroed(0, n);
  accumulate(collaborative, model.alsoBought, seeds);
  const profile = zeroed(1, model.termCount);
  const { offsets, index: termIndex, value: termWeight } = model.terms;
  seeds.index.forEach((item, s) => {
    for (let x = offsets[item]!; x < offsets[item + 1]!; x++) profile[termIndex[x]!]! += seeds.weight[s]! * termWeight[x]!;
  });
  let profileNorm = 0;
  for (let t = 0; t < profile.length; t++) profileNorm += profile[t]! * profile[t]!;
  profileNorm = Math.sqrt(profileNorm) || 1;
  let maxCollaborative = 1e-9;
  for (let j = 0; j < n; j++) if (collaborative[j]! > maxCollaborative) maxCollaborative = collaborative[j]!;

  const content = zeroed(2, n);
  const total = zeroed(3, n);
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let x = offsets[j]!; x < offsets[j + 1]!; x++) dot += profile[termIndex[x]!]! * termWeight[x]!;
    collaborative[j] = (blend.collaborative * collaborative[j]!) / maxCollaborative;
    content[j] = (blend.content * dot) / profileNorm;
    total[j] = collaborative[j]! + content[j]! + blend.popular * model.popularity[j]!;
  }
  for (const item of seeds.index) total[item] = 0;
  const top = topK(total, limit);
  return top.index.map((j, r) => {
    const parts: Record<RecommendationReason, number> = { collaborative: collaborative[j]!, content: content[j]!, popular: blend.popular * model.popularity[j]! };
    return { productId: model.productIds[j]!, score: top.score[r]!, reason: strongest(parts) };
  });
}

/** Products like `productId`: bought by the same users, then alike in content. Undefined for an unknown id. */
export function similarProducts(view: ModelView, productId: string, limit: number): Scored[] | undefined {
  const item = view.indexOf.get(productId);
  if (item === undefined) return undefined;
  const seeds = { index: [item], weight: [1] };
  return mergeNeighbours(view, [view.model.alsoBought, view.model.content], seeds, limit);
}

/** Products often in the same order as the cart's, then those their buyers bought, then alike in content. */
export function boughtTogether(view: ModelView, productIds: readonly string[], limit: number): Scored[] {
  const seeds = seedsOf(view, productIds);
  return mergeNeighbours(view, [view.model.together, view.model.alsoBought, view.model.content], seeds, limit);
}

// Scoring runs start to finish without yielding, so one set of scratch arrays serves every call. A call
// allocating its own (four arrays, ~50 KB of backing stores outside the V8 heap) made ~50 MB/s of them at
// 1,000 calls/s, and the event loop paid in mark-compact pauses of 15-20 ms (bench:recommendations).
const scratch: Float64Array[] = [];

/** Scratch array `slot`, `length` long and zeroed; valid until the next call that takes the same slot. */
function zeroed(slot: number, length: number): Float64Array {
  let array = scratch[slot];
  if (array === undefined || array.length !== length) scratch[slot] = array = new Float64Array(length);
  else array.fill(0);
  return array;
}

function seedsOf(view: ModelView, ids: readonly string[]): { index: number[]; weight: number[] } {
  const index = [...new Set(ids.map((id) => view.indexOf.get(id)).filter((i) => i !== undefined))];
  return { index, weight: index.map(() => 1) };
}

function accumulate(into: Float64Array, rows: SparseRows, seeds: { index: number[]; weight: number[] }): void {
  seeds.index.forEach((item, s) => {
    for (let x = rows.offsets[item]!; x < rows.offsets[item + 1]!; x++) into[rows.index[x]!]! += seeds.weight[s]! * rows.value[x]!;
  });
}

// Earlier sources rank first; a later one only fills the places the earlier left.
function mergeNeighbours(view: ModelView, sources: readonly SparseRows[], seeds: { index: number[]; weight: number[] }, limit: number): Scored[] {
  const { model } = view;
  const taken = new Set(seeds.index);
  const out: Scored[] = [];
  sources.forEach((lists) => {
    if (out.length >= limit) return;
    const scores = zeroed(0, model.productIds.length);
    accumulate(scores, lists, seeds);
    const ranked: Scored[] = [];
    scores.forEach((score, j) => {
      if (score > 0 && !taken.has(j)) ranked.push({ productId: model.productIds[j]!, score, reason: lists === model.content ? "content" : "collaborative" });
    });
    for (const r of best(ranked, limit - out.length)) {
      taken.add(view.indexOf.get(r.productId)!);
      // Scores by overall rank, so a filler from a later source ranks below every earlier answer.
      out.push({ ...r, score: 1 / (1 + out.length) });
    }
  });
  return out;
}

function popular(model: RecommendationModel, exclude: ReadonlySet<number>, limit: number): Scored[] {
  const ranked: Scored[] = [];
  model.popularity.forEach((score, j) => {
    if (score > 0 && !exclude.has(j)) ranked.push({ productId: model.productIds[j]!, score, reason: "popular" });
  });
  return best(ranked, limit);
}

function strongest(parts: Record<RecommendationReason, number>): RecommendationReason {
  return (Object.keys(parts) as RecommendationReason[]).reduce((a, b) => (parts[b] > parts[a] ? b : a));
}

function best(ranked: Scored[], limit: number): Scored[] {
  return ranked.sort((a, b) => b.score - a.score || (a.productId < b.productId ? -1 : 1)).slice(0, Math.max(0, limit));
}
