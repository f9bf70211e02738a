// Issue 19, item 3: anonymous Browse calls must not pin memory in the catalogue cache. Forged page
// tokens (any offset) and calls that end in an error store nothing; page sizes up to the public limit
// (500) work (they failed with inventory's internal `product_ids` limit); and a forged-offset run of
// 1,000 calls leaves the memory the process retains where it was, while a bystander keeps browsing.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryCache, type MemoryCache } from "../../mesh/cache/index.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { startTestShop } from "./shop-fixture.ts";

let shop: InProcessShop;
let cache: MemoryCache;
beforeAll(async () => {
  cache = createMemoryCache();
  shop = await startTestShop({ cache });
});
afterAll(() => shop?.close());

/** One Browse over Connect JSON, as a stranger with curl would send it. */
async function browse(request: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/Browse`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

setFlagsFromString("--expose-gc");
/** A full GC, so RSS compares what is retained rather than garbage not yet collected. */
const collect = runInNewContext("gc") as () => void;

/**
 * Memory the process retains (JS heap and external buffers) after a full GC, in bytes. RSS itself is
 * no gauge inside a test process: it grows by tens of MB over 1,000 ordinary calls with a flat heap
 * (the heap's spaces and malloc arenas expand and are kept), while a cache that pins pages grows this.
 */
function retainedBytes(): number {
  collect();
  collect();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** A token of the old, unsigned format for any offset: what the probe forged. */
const forgedToken = (offset: number) => Buffer.from(JSON.stringify({ o: offset, c: "" })).toString("base64url");

describe("Browse and the catalogue cache (issue 19, item 3)", () => {
  it("serves page sizes up to the public limit of 500 with stock for every product, and names no internal field", async () => {
    for (const pageSize of [101, 250, 500]) {
      const { status, body } = await browse({ pageSize });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.products).toHaveLength(pageSize);
      expect(body.products.every((view: any) => typeof view.product.id === "string")).toBe(true);
    }
    const sold = (await browse({ pageSize: 500 })).body.products.find((view: any) => view.product.id === "prod-0100");
    expect(sold.available ?? "0").toBe("0"); // every 100th seed product is sold out: stock came from inventory
    const tooMany = await browse({ pageSize: 501 });
    // The contract's rule answers, naming the public field (with its buf.validate.Violations detail).
    expect([tooMany.body.code, tooMany.body.message]).toEqual(["invalid_argument", "page_size: must be greater than or equal to 0 and less than or equal to 500 [int32.gte_lte]"]);
    expect(tooMany.body.details.map((d: { type: string }) => d.type)).toEqual(["buf.validate.Violations"]);
  });

  it("refuses forged and tampered page tokens, and neither they nor other errors change the cache's byte count", async () => {
    const first = await browse({ pageSize: 5 });
    const token: string = first.body.nextPageToken;
    const before = cache.stats();
    const [payload, tag] = token.split(".");
    const tampered = `${Buffer.from(JSON.stringify({ o: 700, c: "" })).toString("base64url")}.${tag}`;
    for (const pageToken of [forgedToken(700), tampered, `${payload}.${"A".repeat(22)}`, `${payload}.`, "x".repeat(300)]) {
      const { body } = await browse({ pageSize: 500, pageToken });
      expect(body).toEqual({ code: "invalid_argument", message: "page_token: is not a token returned by this service" });
    }
    expect((await browse({ pageSize: 5, pageToken: token, category: "books" })).body.code).toBe("invalid_argument");
    expect((await browse({ pageSize: -1 })).body.code).toBe("invalid_argument");
    expect(cache.stats()).toEqual(before);
    // The real token still pages on.
    expect((await browse({ pageSize: 5, pageToken: token })).body.products[0].product.id).toBe("prod-0006");
  });

  it("keeps memory flat through 1,000 forged-offset calls of page size 500, while a bystander browses", async () => {
    await browse({ pageSize: 500 }); // warm: code paths compiled, the first page cached
    const bytesBefore = cache.stats().bytes;
    const retainedBefore = retainedBytes();
    let stop = false;
    const bystander = (async () => {
      let pages = 0;
      while (!stop) {
        const { status, body } = await browse({ pageSize: 3 });
        expect(status).toBe(200);
        expect(body.products).toHaveLength(3);
        pages++;
      }
      return pages;
    })();
    const codes = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const { body } = await browse({ pageSize: 500, pageToken: forgedToken(i) });
      codes.set(body.code, (codes.get(body.code) ?? 0) + 1);
    }
    stop = true;
    expect(await bystander).toBeGreaterThan(0);
    expect(Object.fromEntries(codes)).toEqual({ invalid_argument: 1000 });
    expect(cache.stats().bytes).toBeLessThanOrEqual(bytesBefore + 2_000); // the bystander's one small page at most
    expect(retainedBytes() - retainedBefore).toBeLessThan(20 * 1024 * 1024);
  });
});
