// Helpers the shop's services share: field checks, downstream error mapping, the lazy transport, Redis
// scripts and store key prefixes.

export { COMPENSATION_TIMEOUT_MS, downstream, relay, relayError } from "./downstream.ts";
export { invalidArgument, pageSizeOrDefault, requireCount, requireIntInRange, requireText } from "./field-errors.ts";
export { requireKeyPrefix } from "./key-prefix.ts";
export { createLazyTransport } from "./lazy-transport.ts";
export { defineScript } from "./redis-script.ts";
export type { RedisScript } from "./redis-script.ts";
export { OrdersDatabaseError, requireOptions, ShopConfigError, ShopOptionsError, WEFT_ERR_ORDERS_DATABASE, WEFT_ERR_SHOP_CONFIG, WEFT_ERR_SHOP_OPTIONS } from "./options-error.ts";
