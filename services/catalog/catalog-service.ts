import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CatalogService,
  type Product,
  ListProductsResponseSchema,
  ProductSchema,
  SearchProductsResponseSchema,
} from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { type Cache, callLoadOptions } from "../../mesh/cache/index.ts";
import { requireOptions, ShopOptionsError } from "../shared/index.ts";
import { createPageTokens } from "./page-tokens.ts";
import { createProductIndex, searchWords } from "./product-index.ts";
import { withValidation } from "../../mesh/validation/index.ts";

/** Options of {@link createCatalogService}. */
export interface CatalogServiceOptions {
  /** The catalogue (e.g. from `loadSeedProducts()`). Required; duplicate ids throw. */
  readonly products: readonly Product[];
  /** Read-through cache for every read. Required (the in-memory cache in one process, Redis across many). */
  readonly cache: Cache;
  /** Prefix of every cache key, so several catalogues can share one Redis. Default "catalog:v1:". */
  readonly cacheKeyPrefix?: string;
  /** Time to live of cached reads. Default: the cache's own TTL. */
  readonly cacheTtlMs?: number;
  /**
   * HMAC key of ListProducts page tokens, at least 32 bytes; replicas behind one address must share it.
   * Default: random per process.
   */
  readonly pageTokenSecret?: Uint8Array;
}

/** Listing: default and maximum page size. */
export const LIST_DEFAULT_PAGE_SIZE = 50;
export const LIST_MAX_PAGE_SIZE = 500;
/** Search: default and maximum results, and the longest query. */
export const SEARCH_DEFAULT_LIMIT = 20;
export const SEARCH_MAX_LIMIT = 100;
export const SEARCH_MAX_QUERY_LENGTH = 200;
/** Batch get: most ids per call. */
export const BATCH_MAX_IDS = 100;
/** Longest product id or category accepted. */

/** Builds the CatalogService handlers: list with page tokens, get, batch get and search, all cached. */
export function createCatalogService(options: CatalogServiceOptions): ServiceImpl<typeof CatalogService> {
  if (!Array.isArray(options?.products)) throw new ShopOptionsError("options.products must be an array of products");
  requireOptions(options, "cache");
  const index = createProductIndex(options.products);
  const cache = options.cache;
  const prefix = options.cacheKeyPrefix ?? "catalog:v1:";
  const ttlMs = options.cacheTtlMs;
  const pageTokens = createPageTokens(options.pageTokenSecret);

  function cached<Desc extends DescMessage>(
    schema: Desc,
    key: string,
    ctx: HandlerContext,
    load: () => MessageShape<Desc>,
  ): Promise<MessageShape<Desc>> {
    return cache.getOrLoad(schema, prefix + key, async () => load(), callLoadOptions(ctx, ttlMs));
  }

  function getProduct(id: string, field: string, ctx: HandlerContext): Promise<Product> {
    return cached(ProductSchema, `product:${id}`, ctx, () => {
      const product = index.get(id);
      if (!product) throw new ConnectError(`product ${id} not found`, Code.NotFound);
      return product;
    });
  }

  // Field bounds (ids, lengths, page sizes) are the contract's rules, checked before a handler runs.
  return withValidation(CatalogService, {
    async listProducts(req, ctx) {
      const pageSize = req.pageSize || LIST_DEFAULT_PAGE_SIZE;
      const offset = pageTokens.decode(req.pageToken, req.category);
      return cached(ListProductsResponseSchema, `list:${offset}:${pageSize}:${req.category}`, ctx, () => {
        const { products, nextOffset, totalSize } = index.list({ category: req.category, pageSize, offset });
        const nextPageToken = nextOffset === undefined ? "" : pageTokens.encode(nextOffset, req.category);
        return create(ListProductsResponseSchema, { products, nextPageToken, totalSize });
      });
    },

    async getProduct(req, ctx) {
      return { product: await getProduct(req.id, "id", ctx) };
    },

    async batchGetProducts(req, ctx) {
      const settled = await Promise.allSettled(req.ids.map((id, i) => getProduct(id, `ids[${i}]`, ctx)));
      const products: Product[] = [];
      // The first failure in request order wins, so NOT_FOUND names the first unknown id.
      for (const result of settled) {
        if (result.status === "rejected") throw result.reason;
        products.push(result.value);
      }
      return { products };
    },

    async searchProducts(req, ctx) {
      const query = req.query.trim();
      const limit = req.limit || SEARCH_DEFAULT_LIMIT;
      const words = searchWords(query);
      return cached(SearchProductsResponseSchema, `search:${limit}:${words.join(" ")}`, ctx, () =>
        create(SearchProductsResponseSchema, { products: index.search(query, limit) }),
      );
    },
  });
}
