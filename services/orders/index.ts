/** The orders service: handlers, pricing, and the order books (in memory, Redis). */
export { createOrdersService } from "./orders-service.ts";
export type { OrdersServiceOptions } from "./orders-service.ts";
export { createOrderBook, mergeLines, priceLines } from "./order-book.ts";
export type { OrderBook } from "./order-book.ts";
export { createRedisOrderBook } from "./redis-order-book.ts";
export type { RedisOrderBookOptions } from "./redis-order-book.ts";
