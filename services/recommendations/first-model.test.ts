// A recommendations process listens before its first model exists (trainInBackground): calls that come
// first wait for it, for a bounded time, then get UNAVAILABLE; the next call after the swap is answered.
// Regression: the process trained version 0 before listening, ~600 ms of its start (issue 16).
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { type ComputePool, createInlineComputePool, createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { loadSeedProducts } from "../catalog/index.ts";
import { createMemoryModelStore, createMemoryOrderLog, createRecommendationService, type ModelTrainer, startModelTrainer } from "./index.ts";

const products = await loadSeedProducts();

/** An inline pool whose tasks start only once `release()` is called (or fail when their signal aborts first). */
function heldPool(): ComputePool & { release(): void } {
  const inline = createInlineComputePool();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    async run(moduleUrl, name, input, options) {
      const signal = options?.signal;
      await new Promise<void>((resolve, reject) => {
        const abort = () => reject(signal!.reason);
        signal?.addEventListener("abort", abort, { once: true });
        void released.then(() => (signal?.removeEventListener("abort", abort), resolve()));
      });
      return await inline.run(moduleUrl, name, input, options);
    },
    close: () => inline.close(),
    release,
  };
}

describe("recommendations before the first model", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close();
  });

  async function serve(compute: ComputePool, firstModelWaitMs?: number): Promise<{ trainer: ModelTrainer; client: ReturnType<typeof createClient<typeof RecommendationService>> }> {
    const trainer = await startModelTrainer({ compute, orders: createMemoryOrderLog(), store: createMemoryModelStore(), products, intervalMs: 0, trainInBackground: true });
    cleanup.push(() => trainer.close());
    const service = createRecommendationService({ trainer, firstModelWaitMs });
    return { trainer, client: createClient(RecommendationService, createRouterTransport((router) => router.service(RecommendationService, service))) };
  }

  it("returns before training; a call that comes first waits for version 0 (real worker pool)", async () => {
    const compute = createPiscinaComputePool({ maxThreads: 1 });
    cleanup.push(() => compute.close());
    const { trainer, client } = await serve(compute);
    // The training's result comes from a worker thread, so it cannot have arrived yet.
    expect(trainer.current()).toBeUndefined();
    const answer = await client.similarProducts({ productId: products[0]!.id, limit: 5 });
    expect(answer.modelVersion).toBe(0n);
    expect(answer.recommendations).toHaveLength(5);
    expect(trainer.current()?.model.info.version).toBe(0);
  });

  it("answers UNAVAILABLE after firstModelWaitMs while the first model trains, then serves once it swaps in", async () => {
    const compute = heldPool();
    cleanup.push(() => compute.close());
    const { trainer, client } = await serve(compute, 50);
    const early = await client.recommendForUser({ userId: "u1" }).then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(early?.code).toBe(Code.Unavailable);
    expect(trainer.current()).toBeUndefined();
    compute.release();
    await trainer.serving(AbortSignal.timeout(30_000));
    const later = await client.recommendForUser({ userId: "u1", contextProductIds: [products[0]!.id] });
    expect(later.modelVersion).toBe(0n);
    expect(later.recommendations).toHaveLength(10);
    expect((await client.getModelInfo({})).model?.version).toBe(0n);
  });

  it("stops waiting when the caller gives up first", async () => {
    const compute = heldPool();
    cleanup.push(() => compute.close());
    const { trainer } = await serve(compute, 60_000);
    const gaveUp = new AbortController();
    const waiting = trainer.serving(gaveUp.signal);
    gaveUp.abort(new Error("caller left"));
    await expect(waiting).rejects.toThrow("caller left");
  });
});
