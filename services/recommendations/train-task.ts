// Worker task (runs on the compute pool, CPU only, no I/O): trains a RecommendationModel from orders.
import { contentFeatures } from "./content-features.ts";
import { topK } from "./top-k.ts";
import { packRows, type RecommendationModel, sharedArray } from "./recommendation-model.ts";
import { type PackedOrders, stringAt } from "./packed-orders.ts";
import { readCatalogue, type SharedCatalogue } from "./shared-catalogue.ts";

/** This module's URL, for `compute.run(TRAIN_TASK_URL, "trainRecommendations", input)`. */
export const TRAIN_TASK_URL = import.meta.url;

/** One recorded order, as the training reads it. */
export interface OrderRecord {
  readonly userId: string;
  readonly productIds: readonly string[];
  /** When it was placed, ms since the epoch. */
  readonly atMs: number;
}

/** Input of `trainRecommendations`. */
export interface TrainInput {
  /** The catalogue's texts (`shareCatalogue(products)`): shared with the worker, not cloned. */
  readonly products: SharedCatalogue;
  /** The orders, packed (`OrderLog.snapshot()`, or `packOrders(records)`): shared with the worker, not cloned. */
  readonly orders: PackedOrders;
  /** The version the new model gets. */
  readonly version: number;
  /** Neighbours kept per product. Default 40. */
  readonly neighbourCount?: number;
  /** Popularity half-life: a sale this old counts half, in ms. Default 14 days. */
  readonly popularityHalfLifeMs?: number;
  /** Purchases kept per user, most recent first. Default 50. */
  readonly historyLimit?: number;
}

const DAY_MS = 86_400_000;
// Shrinks the similarity of pairs seen in few histories, which are mostly chance.
const SHRINK = 3;
// Each older order of a user counts this much less than the next one.
const HISTORY_DECAY = 0.85;

/** Trains a model: content neighbours (TF-IDF), item-item neighbours, co-purchases, popularity, user histories. */
export function trainRecommendations(input: TrainInput): RecommendationModel {
  const started = performance.now();
  const k = input.neighbourCount ?? 40;
  const halfLifeMs = input.popularityHalfLifeMs ?? 14 * DAY_MS;
  const historyLimit = input.historyLimit ?? 50;
  const products = readCatalogue(input.products);
  const productIds = products.map((p) => p.id);
  const indexOf = new Map(productIds.map((id, i) => [id, i]));
  const n = productIds.length;
  const content = contentFeatures(products, k);

  const orders = input.orders;
  // The log's product numbers as the model's (-1: not in the catalogue).
  const modelIndex = Int32Array.from({ length: orders.products.count }, (_, p) => indexOf.get(stringAt(orders.products, p)) ?? -1);
  // Oldest first; orders placed at the same time keep the order they were recorded in.
  const byTime = Int32Array.from({ length: orders.count }, (_, o) => o).sort((a, b) => orders.atMs[a]! - orders.atMs[b]! || a - b);
  const latestMs = orders.count === 0 ? 0 : orders.atMs[byTime[orders.count - 1]!]!;
  const popularity = new Float64Array(n);
  const sold = new Float64Array(n);
  const byUser = new Map<number, Array<{ items: number[]; atMs: number }>>();
  const together = new Float32Array(n * n);
  for (const o of byTime) {
    const items: number[] = [];
    for (let j = orders.itemStart[o]!; j < orders.itemStart[o + 1]!; j++) {
      const i = modelIndex[orders.productIndex[j]!]!;
      if (i >= 0 && !items.includes(i)) items.push(i);
    }
    if (items.length === 0) continue;
    const atMs = orders.atMs[o]!;
    const decay = Math.pow(0.5, (latestMs - atMs) / halfLifeMs);
    for (const i of items) {
      popularity[i]! += decay;
      sold[i]! += 1;
    }
    countPairs(together, n, items);
    const user = orders.userIndex[o]!;
    let list = byUser.get(user);
    if (list === undefined) byUser.set(user, (list = []));
    list.push({ items, atMs });
  }

  const userIds: string[] = [];
  const histories: Array<{ index: number[]; value: number[] }> = [];
  const buyers = new Float64Array(n);
  const cooccur = new Float32Array(n * n);
  for (const [user, list] of byUser) {
    const weights = new Map<number, number>();
    for (let o = list.length - 1, w = 1; o >= 0; o--, w *= HISTORY_DECAY) {
      for (const i of list[o]!.items) if (!weights.has(i)) weights.set(i, w);
    }
    const items = [...weights.keys()];
    for (const i of items) buyers[i]! += 1;
    countPairs(cooccur, n, items);
    const kept = items.slice(0, historyLimit);
    userIds.push(stringAt(orders.users, user));
    histories.push({ index: kept, value: kept.map((i) => weights.get(i)!) });
  }

  let maxPopularity = 1e-9;
  for (const p of popularity) maxPopularity = Math.max(maxPopularity, p);
  const scaledPopularity = sharedArray(Float32Array, n);
  popularity.forEach((p, i) => (scaledPopularity[i] = p / maxPopularity));
  const alsoBought: Array<{ index: number[]; value: number[] }> = [];
  const boughtTogether: Array<{ index: number[]; value: number[] }> = [];
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) row[j] = cooccur[i * n + j]! / (Math.sqrt(buyers[i]! * buyers[j]!) + SHRINK);
    alsoBought.push(asRow(topK(row, k, i)));
    for (let j = 0; j < n; j++) row[j] = together[i * n + j]! / (Math.sqrt(sold[i]! * sold[j]!) + SHRINK);
    boughtTogether.push(asRow(topK(row, k, i)));
  }

  return {
    info: { version: input.version, trainedAtMs: Date.now(), trainingMs: Math.round(performance.now() - started), orders: orders.count, users: byUser.size },
    productIds,
    terms: packRows(content.terms.map((t) => ({ index: t.index, value: t.weight }))),
    termCount: content.termCount,
    content: packRows(content.neighbours.map(asRow)),
    alsoBought: packRows(alsoBought),
    together: packRows(boughtTogether),
    popularity: scaledPopularity,
    users: { ids: userIds, history: packRows(histories) },
  };
}

function countPairs(counts: Float32Array, n: number, items: readonly number[]): void {
  for (const a of items) for (const b of items) if (a !== b) counts[a * n + b]! += 1;
}

const asRow = (top: { index: number[]; score: number[] }) => ({ index: top.index, value: top.score });
