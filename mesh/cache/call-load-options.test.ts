import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { callLoadOptions, createMemoryCache } from "./index.ts";

/** A handler context's signal, counting how often it is read. */
function countingContext(signal: AbortSignal) {
  const ctx = {
    reads: 0,
    get signal() {
      ctx.reads++;
      return signal;
    },
  };
  return ctx;
}

describe("callLoadOptions", () => {
  it("a hit never reads the call's signal; a miss that waits is cancelled by it", async () => {
    const cache = createMemoryCache();
    await cache.getOrLoad(ProductSchema, "p1", async () => create(ProductSchema, { id: "p1", name: "Widget" }));
    const hit = countingContext(new AbortController().signal);
    expect((await cache.getOrLoad(ProductSchema, "p1", () => Promise.reject(new Error("not loaded")), callLoadOptions(hit))).name).toBe("Widget");
    expect(hit.reads).toBe(0);

    const ac = new AbortController();
    const miss = countingContext(ac.signal);
    const waiting = cache.getOrLoad(ProductSchema, "p2", () => new Promise(() => {}), callLoadOptions(miss, 1_000));
    ac.abort(new ConnectError("the caller went away", Code.Canceled));
    await expect(waiting).rejects.toMatchObject({ code: Code.Canceled });
    expect(miss.reads).toBeGreaterThan(0);
    await cache.close();
  });
});
