// Leave-last-order-out evaluation of the recommender against a popularity baseline.
import { type BlendWeights, DEFAULT_BLEND, historyOf, recommendForUser, viewOf } from "../../services/recommendations/recommend.ts";
import { type OrderRecord, trainRecommendations } from "../../services/recommendations/train-task.ts";
import { packOrders } from "../../services/recommendations/packed-orders.ts";
import { shareCatalogue } from "../../services/recommendations/shared-catalogue.ts";
import type { ProductText } from "../../services/recommendations/content-features.ts";

/** recall@k and NDCG@k of one recommender, averaged over users. */
export interface EvalScores {
  readonly name: string;
  readonly recallAt10: number;
  readonly ndcgAt10: number;
}

/** What one evaluation reports. */
export interface EvalReport {
  readonly users: number;
  readonly trainOrders: number;
  readonly trainingMs: number;
  readonly rows: EvalScores[];
}

const K = 10;

/**
 * Holds out each user's purchases in the newest `heldOutShare` of the stream, trains on the rest, and scores the top 10 of the model
 * (with `blends`, the first being the service's) and of a popularity baseline against the held-out
 * products the user had not bought before.
 */
export function evaluate(products: readonly ProductText[], orders: readonly OrderRecord[], blends: Record<string, BlendWeights> = { model: DEFAULT_BLEND }, heldOutShare = 0.15): EvalReport {
  // A time split: the newest `heldOutShare` of the stream is the future each user's last purchases fall in.
  const times = orders.map((o) => o.atMs).sort((a, b) => a - b);
  const cutoffMs = times[Math.floor(times.length * (1 - heldOutShare))] ?? 0;
  const train = orders.filter((o) => o.atMs < cutoffMs);
  const future = new Map<string, Set<string>>();
  for (const order of orders) {
    if (order.atMs < cutoffMs) continue;
    let set = future.get(order.userId);
    if (set === undefined) future.set(order.userId, (set = new Set()));
    for (const id of order.productIds) set.add(id);
  }
  const model = trainRecommendations({ products: shareCatalogue(products), orders: packOrders(train), version: 1 });
  const view = viewOf(model);

  const counts = new Map<string, number>();
  for (const order of train) for (const id of order.productIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const byPopularity = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);

  const recommenders: Record<string, (userId: string, bought: ReadonlySet<string>) => string[]> = {};
  for (const [name, blend] of Object.entries(blends)) {
    recommenders[name] = (userId) => recommendForUser(view, userId, [], K, blend).map((r) => r.productId);
  }
  recommenders["popularity baseline"] = (_, bought) => byPopularity.filter((id) => !bought.has(id)).slice(0, K);

  const sums = new Map(Object.keys(recommenders).map((name) => [name, { recall: 0, ndcg: 0 }]));
  let users = 0;
  for (const [userId, later] of future) {
    const historyIndex = historyOf(view, userId)?.index ?? [];
    const bought = new Set(historyIndex.map((i) => model.productIds[i]!));
    const relevant = new Set([...later].filter((id) => !bought.has(id)));
    if (relevant.size === 0 || bought.size === 0) continue;
    users++;
    for (const [name, recommend] of Object.entries(recommenders)) {
      const top = recommend(userId, bought);
      let hits = 0;
      let dcg = 0;
      top.forEach((id, rank) => {
        if (relevant.has(id)) {
          hits++;
          dcg += 1 / Math.log2(rank + 2);
        }
      });
      let ideal = 0;
      for (let r = 0; r < Math.min(K, relevant.size); r++) ideal += 1 / Math.log2(r + 2);
      const sum = sums.get(name)!;
      sum.recall += hits / relevant.size;
      sum.ndcg += dcg / ideal;
    }
  }
  const rows = [...sums].map(([name, s]) => ({ name, recallAt10: s.recall / Math.max(1, users), ndcgAt10: s.ndcg / Math.max(1, users) }));
  return { users, trainOrders: train.length, trainingMs: model.info.trainingMs, rows };
}
