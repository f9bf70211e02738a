/** The orders service: handlers and the pure order book and pricing. */
export { createOrdersService } from "./orders-service.ts";
export type { OrdersServiceOptions } from "./orders-service.ts";
export { createOrderBook, mergeLines, priceLines } from "./order-book.ts";
export type { OrderBook } from "./order-book.ts";
