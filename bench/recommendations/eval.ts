// npm run eval:recommendations: replays a synthetic order stream with planted preferences, holds out
// each user's last order, and prints recall@10 and NDCG@10 of the model, its parts, and a popularity
// baseline (flags: --help).
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { loadSeedProducts } from "../../services/catalog/index.ts";
import { DEFAULT_BLEND } from "../../services/recommendations/recommend.ts";
import { evaluate } from "./evaluate.ts";
import { syntheticOrders } from "./synthetic-orders.ts";

const { values } = readCommandLine({
  usage: "npm run eval:recommendations -- [flags]   (node bench/recommendations/eval.ts)",
  summary: "Replays a synthetic order stream with planted tastes and seasonal products, holds out each user's latest purchases, prints recall@10 and NDCG@10 of the model, its parts and a popularity baseline.",
  flags: {
    users: { type: "string", valueName: "N", default: "1500", description: "users in the synthetic stream (50 to 100000)" },
    seed: { type: "string", valueName: "N", default: "1", description: "PRNG seed of the stream" },
  },
});
const users = numberSetting("--users", values.users, 1500, { min: 50, max: 100_000, integer: true });
const seed = numberSetting("--seed", values.seed, 1, { integer: true });
const products = await loadSeedProducts();
const { orders } = syntheticOrders({ products, users, seed });
const report = evaluate(products, orders, {
  "model (hybrid)": DEFAULT_BLEND,
  "item-item only": { collaborative: 1, content: 0, popular: 0 },
  "content only": { collaborative: 0, content: 1, popular: 0 },
  "recent sales only": { collaborative: 0, content: 0, popular: 1 },
});
console.log(`${products.length} products, ${report.users} users evaluated, ${report.trainOrders} training orders, trained in ${report.trainingMs} ms`);
console.log("| recommender | recall@10 | NDCG@10 |\n|---|---:|---:|");
for (const row of report.rows) console.log(`| ${row.name} | ${row.recallAt10.toFixed(3)} | ${row.ndcgAt10.toFixed(3)} |`);
const model = report.rows[0]!;
const baseline = report.rows.at(-1)!;
console.log(`model / baseline recall@10: ${(model.recallAt10 / Math.max(1e-9, baseline.recallAt10)).toFixed(2)}x (goal >= 2x)`);
