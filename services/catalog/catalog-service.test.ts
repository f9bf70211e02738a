import { readFileSync } from "node:fs";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { type Cache, createMemoryCache } from "../../mesh/cache/index.ts";
import { rejection } from "../../test/support/shop/router-shop.ts";
import { createCatalogService } from "./catalog-service.ts";
import { generateSeed } from "./seed/generate.ts";
import { loadSeedProducts } from "./seed/load-seed.ts";
import { violationsOf } from "../../test/support/violations.ts";

const products = await loadSeedProducts();
const caches: Cache[] = [];

/** A catalog behind a router transport, with a cache that counts loads. */
function catalogClient() {
  const inner = createMemoryCache();
  caches.push(inner);
  const loads: string[] = [];
  const cache: Cache = {
    getOrLoad: (schema, key, load, options) => inner.getOrLoad(schema, key, () => (loads.push(key), load()), options),
    invalidate: (key) => inner.invalidate(key),
    close: () => inner.close(),
  };
  const transport = createRouterTransport((router) => router.service(CatalogService, createCatalogService({ products, cache })));
  return { client: createClient(CatalogService, transport), loads };
}

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

describe("seed catalogue", () => {
  it("ships at least 1,000 products, exactly as the generator makes them", () => {
    const committed = JSON.parse(readFileSync(new URL("./seed/products.json", import.meta.url), "utf8"));
    expect(committed.length).toBeGreaterThanOrEqual(1000);
    expect(committed).toEqual(generateSeed().products);
    expect(products).toHaveLength(committed.length);
  });
});

describe("CatalogService", () => {
  it("pages through the whole catalogue with page tokens, without gaps or repeats", async () => {
    const { client } = catalogClient();
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.listProducts({ pageSize: 137, pageToken });
      expect(page.totalSize).toBe(products.length);
      seen.push(...page.products.map((p) => p.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "" && pages < 100);
    expect(seen).toHaveLength(products.length);
    expect(new Set(seen).size).toBe(products.length);
    expect(pages).toBe(Math.ceil(products.length / 137));
  });

  it("lists one category, and the default page size is 50", async () => {
    const { client } = catalogClient();
    const page = await client.listProducts({ category: "audio" });
    expect(page.products).toHaveLength(50);
    expect(page.products.every((p) => p.category === "audio")).toBe(true);
    expect(page.totalSize).toBe(products.filter((p) => p.category === "audio").length);
  });

  it("rejects a page token from another category, a forged token and a bad page size, naming the field", async () => {
    const { client } = catalogClient();
    const { nextPageToken } = await client.listProducts({ category: "audio", pageSize: 5 });
    const wrongCategory = await rejection(client.listProducts({ category: "books", pageToken: nextPageToken }));
    expect(wrongCategory.code).toBe(Code.InvalidArgument);
    expect(wrongCategory.rawMessage).toMatch(/^page_token: /);
    expect((await rejection(client.listProducts({ pageToken: "not a token" }))).rawMessage).toMatch(/^page_token: /);
    const tooBig = await rejection(client.listProducts({ pageSize: 501 }));
    expect(tooBig.code).toBe(Code.InvalidArgument);
    expect(violationsOf(tooBig)).toEqual([["page_size", "int32.gte_lte"]]);
    expect(violationsOf(await rejection(client.listProducts({ pageSize: -1 })))).toEqual([["page_size", "int32.gte_lte"]]);
  });

  it("gets one product, NOT_FOUND for an unknown id, INVALID_ARGUMENT for an empty one", async () => {
    const { client } = catalogClient();
    const { product } = await client.getProduct({ id: "prod-0042" });
    expect(product?.id).toBe("prod-0042");
    expect(product?.priceCents).toBe(products.find((p) => p.id === "prod-0042")?.priceCents);
    const missing = await rejection(client.getProduct({ id: "prod-9999" }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("prod-9999");
    expect(violationsOf(await rejection(client.getProduct({ id: "" })))).toEqual([["id", "string.min_len"]]);
  });

  it("batch-gets in request order; NOT_FOUND names the first unknown id", async () => {
    const { client } = catalogClient();
    const { products: got } = await client.batchGetProducts({ ids: ["prod-0003", "prod-0001", "prod-0002"] });
    expect(got.map((p) => p.id)).toEqual(["prod-0003", "prod-0001", "prod-0002"]);
    const missing = await rejection(client.batchGetProducts({ ids: ["prod-0001", "nope-1", "nope-2"] }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("nope-1");
    expect(violationsOf(await rejection(client.batchGetProducts({ ids: [] })))).toEqual([["ids", "repeated.min_items"]]);
    const many = Array.from({ length: 101 }, (_, i) => `prod-${String(i + 1).padStart(4, "0")}`);
    expect(violationsOf(await rejection(client.batchGetProducts({ ids: many })))).toEqual([["ids", "repeated.max_items"]]);
    expect(violationsOf(await rejection(client.batchGetProducts({ ids: ["prod-0001", ""] })))).toEqual([["ids[1]", "string.min_len"]]);
  });

  it("searches every word, case-insensitively, in name, description and tags", async () => {
    const { client } = catalogClient();
    const { products: found } = await client.searchProducts({ query: "  Oak   KETTLE ", limit: 100 });
    expect(found.length).toBeGreaterThan(0);
    for (const p of found) {
      const text = [p.name, p.description, ...p.tags].join(" ").toLowerCase();
      expect(text).toContain("oak");
      expect(text).toContain("kettle");
    }
    const expected = products.filter((p) => {
      const text = [p.name, p.description, ...p.tags].join(" ").toLowerCase();
      return text.includes("oak") && text.includes("kettle");
    });
    expect(found.map((p) => p.id)).toEqual(expected.slice(0, 100).map((p) => p.id));
    expect((await client.searchProducts({ query: "zzzz-no-such-thing" })).products).toEqual([]);
    expect(violationsOf(await rejection(client.searchProducts({ query: " " })))).toEqual([["query", "not_blank"]]);
    expect(violationsOf(await rejection(client.searchProducts({ query: "x".repeat(201) })))).toEqual([["query", "string.max_len"]]);
    expect(violationsOf(await rejection(client.searchProducts({ query: "oak", limit: 101 })))).toEqual([["limit", "int32.gte_lte"]]);
  });

  it("reads through the cache: a repeated read does not load again", async () => {
    const { client, loads } = catalogClient();
    await client.getProduct({ id: "prod-0007" });
    await client.getProduct({ id: "prod-0007" });
    await client.searchProducts({ query: "oak" });
    await client.searchProducts({ query: "OAK" });
    await client.listProducts({ pageSize: 10 });
    await client.listProducts({ pageSize: 10 });
    expect(loads).toEqual(["catalog:v1:product:prod-0007", "catalog:v1:search:20:oak", "catalog:v1:list:0:10:"]);
  });
});
