/** The catalog service: handlers, the pure product index and the committed seed catalogue. */
export { createCatalogService } from "./catalog-service.ts";
export type { CatalogServiceOptions } from "./catalog-service.ts";
export { createPageTokens, parsePageTokenSecret } from "./page-tokens.ts";
export type { PageTokens } from "./page-tokens.ts";
export { createProductIndex, productsFromSeed } from "./product-index.ts";
export type { ProductIndex, ProductPage } from "./product-index.ts";
export { loadSeedProducts } from "./seed/load-seed.ts";
