import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { UnaryCallResponseSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMemoryCache } from "./memory-cache.ts";

const product = (id: string, name = "Widget"): Product => create(ProductSchema, { id, name, priceCents: 1999n });

describe("createMemoryCache", () => {
  it("loads once for 1,000 concurrent misses on one key, then serves hits", async () => {
    const cache = createMemoryCache();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return product("p1");
    };
    const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrLoad(ProductSchema, "p1", load)));
    expect(loads).toBe(1);
    expect(results.every((p) => p.id === "p1" && p.priceCents === 1999n)).toBe(true);
    results[0].name = "mutated";
    expect((await cache.getOrLoad(ProductSchema, "p1", load)).name).toBe("Widget");
    expect(loads).toBe(1);
    await cache.close();
  });

  it("gives every hit bytes fields of its own: changing one changes neither the cache nor another hit", async () => {
    const cache = createMemoryCache();
    const load = async () => create(UnaryCallResponseSchema, { payload: { body: new Uint8Array([1, 2, 3]) } });
    const first = await cache.getOrLoad(UnaryCallResponseSchema, "b", load);
    const second = await cache.getOrLoad(UnaryCallResponseSchema, "b", load);
    second.payload!.body[0] = 9;
    expect([...first.payload!.body]).toEqual([1, 2, 3]);
    expect([...(await cache.getOrLoad(UnaryCallResponseSchema, "b", load)).payload!.body]).toEqual([1, 2, 3]);
    await cache.close();
  });

  it("expires after the TTL (with jitter) and reloads", async () => {
    const cache = createMemoryCache({ ttlMs: 20, ttlJitter: 0.5 });
    let loads = 0;
    const load = async () => product(`v${++loads}`);
    expect((await cache.getOrLoad(ProductSchema, "k", load)).id).toBe("v1");
    expect((await cache.getOrLoad(ProductSchema, "k", load)).id).toBe("v1");
    await new Promise((r) => setTimeout(r, 35));
    expect((await cache.getOrLoad(ProductSchema, "k", load)).id).toBe("v2");
    await cache.close();
  });

  it("invalidate drops the value and a load that was running when it happened is not stored", async () => {
    const cache = createMemoryCache();
    let release!: () => void;
    const slow = cache.getOrLoad(ProductSchema, "k", async () => {
      await new Promise<void>((r) => (release = r));
      return product("old");
    });
    await new Promise((r) => setTimeout(r, 1));
    await cache.invalidate("k");
    release();
    expect((await slow).id).toBe("old");
    expect((await cache.getOrLoad(ProductSchema, "k", async () => product("new"))).id).toBe("new");
    await cache.invalidate("k");
    expect((await cache.getOrLoad(ProductSchema, "k", async () => product("newer"))).id).toBe("newer");
    await cache.close();
  });

  it("does not cache a failed load, and an aborted waiter gets Canceled", async () => {
    const cache = createMemoryCache();
    await expect(
      cache.getOrLoad(ProductSchema, "k", async () => {
        throw new ConnectError("source down", Code.Unavailable);
      }),
    ).rejects.toMatchObject({ code: Code.Unavailable });
    expect((await cache.getOrLoad(ProductSchema, "k", async () => product("ok"))).id).toBe("ok");

    const controller = new AbortController();
    const waiting = cache.getOrLoad(ProductSchema, "slow", () => new Promise<Product>(() => {}), {
      signal: controller.signal,
    });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: Code.Canceled });
    await expect(
      cache.getOrLoad(ProductSchema, "slow2", () => new Promise<Product>(() => {}), { signal: AbortSignal.timeout(5) }),
    ).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    await cache.close();
  });

  it("evicts the least recently used entry beyond maxEntries", async () => {
    const cache = createMemoryCache({ maxEntries: 2 });
    let loads = 0;
    const load = (id: string) => async () => (loads++, product(id));
    await cache.getOrLoad(ProductSchema, "a", load("a"));
    await cache.getOrLoad(ProductSchema, "b", load("b"));
    await cache.getOrLoad(ProductSchema, "a", load("a")); // a is now the most recent
    await cache.getOrLoad(ProductSchema, "c", load("c")); // evicts b
    expect(loads).toBe(3);
    await cache.getOrLoad(ProductSchema, "a", load("a"));
    expect(loads).toBe(3);
    await cache.getOrLoad(ProductSchema, "b", load("b"));
    expect(loads).toBe(4);
    expect(() => createMemoryCache({ ttlMs: 0 })).toThrow("options.ttlMs");
    expect(() => createMemoryCache({ ttlMs: 0 })).toThrow(expect.objectContaining({ code: "WEFT_ERR_CACHE_OPTIONS" }));
    await cache.close();
  });

  it("keeps its bytes under maxBytes however many distinct keys are loaded, and never stores an oversized value", async () => {
    const cache = createMemoryCache({ maxBytes: 64 * 1024 });
    const big = (id: string) => async () => product(id, "x".repeat(1000));
    for (let i = 0; i < 1000; i++) await cache.getOrLoad(ProductSchema, `k${i}`, big(`p${i}`));
    const { entries, bytes } = cache.stats();
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    expect(bytes).toBeGreaterThan(32 * 1024);
    expect(entries).toBeLessThan(1000);
    // The most recent keys stayed, the oldest went.
    let loads = 0;
    await cache.getOrLoad(ProductSchema, "k999", async () => (loads++, product("again")));
    await cache.getOrLoad(ProductSchema, "k0", async () => (loads++, product("again")));
    expect(loads).toBe(1);
    // A value over an eighth of the budget is served but not kept.
    const before = cache.stats().bytes;
    const huge = await cache.getOrLoad(ProductSchema, "huge", async () => product("huge", "y".repeat(9000)));
    expect(huge.name.length).toBe(9000);
    expect(cache.stats().bytes).toBe(before);
    await cache.invalidate("k999");
    expect(cache.stats().bytes).toBeLessThan(before);
    expect(() => createMemoryCache({ maxBytes: 10 })).toThrow("options.maxBytes");
    await cache.close();
    expect(cache.stats()).toEqual({ entries: 0, bytes: 0 });
  });
});
