import { create } from "@bufbuild/protobuf";
import { type Product, ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";

/**
 * The catalogue's pure domain: an immutable, ordered set of products with paging and word search.
 * No I/O; the handlers put a cache in front of it.
 */
export interface ProductIndex {
  /** Number of products. */
  readonly size: number;
  /** One product, or undefined. */
  get(id: string): Product | undefined;
  /** A page of products (optionally of one category) in id order. */
  list(query: ListQuery): ProductPage;
  /** Products matching every word of `text` (case-insensitive, in name, description or tags), in id order. */
  search(text: string, limit: number): Product[];
}

/** What `list` pages through. */
export interface ListQuery {
  readonly category: string;
  readonly pageSize: number;
  /** Position of the page's first product in the listing (0 for the first page). */
  readonly offset: number;
}

/** One page of a listing. */
export interface ProductPage {
  readonly products: Product[];
  /** Offset of the next page; undefined on the last page. */
  readonly nextOffset: number | undefined;
  /** Products in the listing (all pages). */
  readonly totalSize: number;
}

/** Builds the index; throws on duplicate ids so bad seed data fails at start-up. */
export function createProductIndex(products: readonly Product[]): ProductIndex {
  const sorted = [...products].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byId = new Map<string, Product>();
  const byCategory = new Map<string, Product[]>();
  const haystacks = new Map<string, string>();
  for (const product of sorted) {
    if (byId.has(product.id)) throw new Error(`catalogue: duplicate product id ${product.id}`);
    byId.set(product.id, product);
    const inCategory = byCategory.get(product.category) ?? [];
    inCategory.push(product);
    byCategory.set(product.category, inCategory);
    haystacks.set(product.id, [product.name, product.description, ...product.tags].join(" ").toLowerCase());
  }
  return {
    size: sorted.length,
    get: (id) => byId.get(id),
    list({ category, pageSize, offset }) {
      const listing = category === "" ? sorted : (byCategory.get(category) ?? []);
      const products = listing.slice(offset, offset + pageSize);
      const next = offset + products.length;
      return { products, nextOffset: next < listing.length ? next : undefined, totalSize: listing.length };
    },
    search(text, limit) {
      const words = searchWords(text);
      const found: Product[] = [];
      for (const product of sorted) {
        const haystack = haystacks.get(product.id) ?? "";
        if (words.every((word) => haystack.includes(word))) {
          found.push(product);
          if (found.length === limit) break;
        }
      }
      return found;
    },
  };
}

/** The lower-cased words of a search query, for matching and for cache keys. */
export function searchWords(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter((word) => word.length > 0);
}

/** Turns seed records (products.json) into Product messages. */
export function productsFromSeed(
  records: ReadonlyArray<{ id: string; name: string; description: string; category: string; priceCents: number; tags: string[] }>,
): Product[] {
  return records.map((record) =>
    create(ProductSchema, {
      id: record.id,
      name: record.name,
      description: record.description,
      category: record.category,
      priceCents: BigInt(record.priceCents),
      tags: record.tags,
    }),
  );
}
