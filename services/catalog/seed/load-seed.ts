import { readFile } from "node:fs/promises";
import type { Product } from "../../../gen/shop/catalog/v1/catalog_pb.ts";
import { productsFromSeed } from "../product-index.ts";
import type { SeedProduct } from "./generate.ts";

/** Reads the committed seed catalogue (products.json beside this file). */
export async function loadSeedProducts(): Promise<Product[]> {
  const text = await readFile(new URL("./products.json", import.meta.url), "utf8");
  return productsFromSeed(JSON.parse(text) as SeedProduct[]);
}
