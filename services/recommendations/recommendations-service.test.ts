// The recommendations service against real Redis and a real piscina pool (unique key prefixes per run):
// persisted versioned models, cold-start answers, a model swap under a bounded load of calls, and the
// eval's floor on a small synthetic replay.
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Reason, RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { type ComputePool, createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { evaluate } from "../../bench/recommendations/evaluate.ts";
import { syntheticOrders } from "../../bench/recommendations/synthetic-orders.ts";
import { runId } from "../../test/backends/servers.ts";
import { redisUrl } from "../../test/support/servers.ts";
import { loadSeedProducts } from "../catalog/index.ts";
import { createRedisModelStore, createRedisOrderLog, createRecommendationService, type ModelTrainer, startModelTrainer } from "./index.ts";

const products = await loadSeedProducts();
const { orders: stream } = syntheticOrders({ products, users: 300, seed: 7 });

describe("recommendations service (Redis + piscina)", () => {
  let redis: Redis;
  let compute: ComputePool;
  const prefixes: string[] = [];
  const trainers: ModelTrainer[] = [];

  beforeAll(() => {
    redis = new Redis(redisUrl());
    compute = createPiscinaComputePool({ maxThreads: 1 });
  });
  afterAll(async () => {
    await Promise.all(trainers.map((t) => t.close()));
    for (const prefix of prefixes) {
      const keys = await redis.keys(`*${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    await redis.quit();
    await compute.close();
  });

  /** A trainer over a fresh Redis order log and model store holding the first `count` orders of the stream. */
  async function setUp(count: number, prefix = `${runId()}:recommendations:v1:`) {
    prefixes.push(prefix);
    const orders = createRedisOrderLog({ redis, keyPrefix: prefix });
    await Promise.all(stream.slice(0, count).map((order, i) => orders.record(`e${i}`, order)));
    const store = createRedisModelStore({ redis, keyPrefix: prefix });
    const trainer = await startModelTrainer({ compute, orders, store, products, intervalMs: 0 });
    trainers.push(trainer);
    const client = createClient(RecommendationService, createRouterTransport((router) => router.service(RecommendationService, createRecommendationService({ trainer }))));
    return { prefix, orders, store, trainer, client };
  }

  it("trains on the pool, reports version and training time, and a restart serves the saved model without retraining", async () => {
    const first = await setUp(1_000);
    const info = (await first.client.getModelInfo({})).model!;
    expect(info.version).toBeGreaterThan(0n);
    expect(info.orders).toBe(1_000n);
    expect(info.trainingMs).toBeGreaterThan(0n);
    const retrained = (await first.client.retrain({})).model!;
    expect(retrained.version).toBeGreaterThan(info.version);

    // A second process on the same Redis: it serves the saved model (same version and training time).
    const restarted = await setUp(0, first.prefix);
    const again = (await restarted.client.getModelInfo({})).model!;
    expect(again.version).toBe(retrained.version);
    expect(again.trainedAt).toEqual(retrained.trainedAt);
    expect((await restarted.client.getModelInfo({})).pendingOrders).toBe(0n);
  });

  it("refuses requests past the contract's bounds with INVALID_ARGUMENT before any scoring", async () => {
    const { client } = await setUp(0);
    const refused = (call: Promise<unknown>) => call.then(() => "answered" as const, (err: unknown) => ConnectError.from(err).code);
    expect(await refused(client.recommendForUser({ userId: "u", limit: 51 }))).toBe(Code.InvalidArgument);
    expect(await refused(client.recommendForUser({ userId: "u", contextProductIds: Array(21).fill(products[0]!.id) }))).toBe(Code.InvalidArgument);
    expect(await refused(client.similarProducts({ productId: "" }))).toBe(Code.InvalidArgument);
    expect(await refused(client.boughtTogether({ productIds: [] }))).toBe(Code.InvalidArgument);
    expect(await refused(client.boughtTogether({ productIds: Array(51).fill(products[0]!.id) }))).toBe(Code.InvalidArgument);
    // At the bounds: answered.
    expect(await refused(client.recommendForUser({ userId: "u", limit: 50, contextProductIds: Array(20).fill(products[0]!.id) }))).toBe("answered");
  });

  it("answers a user with no history from content: products like the ones they look at", async () => {
    const { client } = await setUp(0);
    const seed = products[0]!;
    const { recommendations, modelVersion } = await client.recommendForUser({ userId: "nobody-yet", contextProductIds: [seed.id] });
    expect(modelVersion).toBe(0n);
    expect(recommendations).toHaveLength(10);
    expect(recommendations.every((r) => r.reason === Reason.CONTENT)).toBe(true);
    const categories = recommendations.map((r) => products.find((p) => p.id === r.productId)!.category);
    expect(categories.filter((c) => c === seed.category).length).toBeGreaterThanOrEqual(8);
    // A product nobody bought still has similar products, by content.
    const similar = await client.similarProducts({ productId: seed.id, limit: 5 });
    expect(similar.recommendations.map((r) => r.reason)).toEqual(Array(5).fill(Reason.CONTENT));
  });

  it("fails no call while retraining swaps the model (bounded loop of calls)", { timeout: 90_000 }, async () => {
    const { client, orders, trainer } = await setUp(1_500);
    const before = trainer.current()!.model.info.version;
    await Promise.all(stream.slice(1_500).map((order, i) => orders.record(`late${i}`, order)));
    const versions = new Set<bigint>();
    const failures: unknown[] = [];
    let calls = 0;
    let swaps = 0;
    const training = (async () => {
      for (let i = 0; i < 2; i++) await trainer.retrain(), swaps++;
    })();
    let done = false;
    void training.finally(() => (done = true));
    // Bounded by count and time; on a loaded machine the two trainings may take most of it.
    const deadline = Date.now() + 60_000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        while (!done && calls < 20_000 && Date.now() < deadline) {
          calls++;
          const user = stream[(calls * 7 + worker) % stream.length]!.userId;
          try {
            const [mine, together] = await Promise.all([client.recommendForUser({ userId: user }), client.boughtTogether({ productIds: [products[calls % products.length]!.id] })]);
            versions.add(mine.modelVersion);
            if (mine.recommendations.length !== 10 || together.recommendations.length === 0) failures.push(`short answer at call ${calls}`);
          } catch (error) {
            failures.push(error);
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    await training;
    expect(failures).toEqual([]);
    expect(swaps).toBe(2);
    expect(trainer.current()!.model.info.version).toBeGreaterThan(before);
    expect(trainer.current()!.model.info.orders).toBe(stream.length);
    // Calls ran while the pool trained: they were answered by the old model and then by a new one.
    expect(versions.has(BigInt(before))).toBe(true);
    expect(versions.size).toBeGreaterThan(1);
  });

  it("beats the popularity baseline on a small synthetic replay (eval floor)", () => {
    const { orders } = syntheticOrders({ products, users: 500, seed: 3 });
    const report = evaluate(products, orders);
    const [model, baseline] = [report.rows[0]!, report.rows.at(-1)!];
    expect(report.users).toBeGreaterThan(200);
    expect(model.recallAt10).toBeGreaterThan(1.5 * baseline.recallAt10);
    expect(model.ndcgAt10).toBeGreaterThan(baseline.ndcgAt10);
  });
});
