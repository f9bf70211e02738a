import { describe, expect, it } from "vitest";
import { loadSeedProducts } from "../catalog/index.ts";
import { packOrders } from "./packed-orders.ts";
import { readCatalogue, shareCatalogue } from "./shared-catalogue.ts";
import { trainRecommendations } from "./train-task.ts";

describe("shared catalogue", () => {
  it("reads back the texts it was given, and nothing else of the products", async () => {
    const products = await loadSeedProducts();
    const texts = readCatalogue(shareCatalogue(products));
    expect(texts).toEqual(products.map(({ id, name, description, category, tags }) => ({ id, name, description, category, tags: [...tags] })));
  });

  it("crosses a structured clone as the same memory, not a copy", () => {
    const shared = shareCatalogue([{ id: "p1", name: "Kettle", description: "Steel", category: "kitchen", tags: ["tea"] }]);
    const clone = structuredClone(shared);
    expect(clone.json.buffer).toBeInstanceOf(SharedArrayBuffer);
    shared.json[2] = "X".charCodeAt(0); // [{"X": the clone sees the write
    expect(String.fromCharCode(clone.json[2]!)).toBe("X");
  });

  it("refuses bytes that do not hold the count it claims", () => {
    const shared = shareCatalogue([]);
    expect(() => readCatalogue({ ...shared, count: 3 })).toThrow(/holds 0 products, expected 3/);
  });

  it("trains a model whose arrays are shared memory, so it crosses back from the worker without a copy", async () => {
    const products = await loadSeedProducts();
    const model = trainRecommendations({ products: shareCatalogue(products), orders: packOrders([{ userId: "u1", productIds: [products[0]!.id, products[1]!.id], atMs: 1 }]), version: 1 });
    for (const rows of [model.terms, model.content, model.alsoBought, model.together, model.users.history]) {
      for (const array of [rows.offsets, rows.index, rows.value]) expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    expect(model.popularity.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(model.productIds).toHaveLength(products.length);
  });
});
