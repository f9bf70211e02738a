/** The gateway service: the browser-facing edge composing the other four. */
export { createGatewayService, GATEWAY_READ_LIMITS } from "./gateway-service.ts";
export type { GatewayServiceOptions } from "./gateway-service.ts";
export { createGatewayRateLimits, GATEWAY_METHOD_COSTS, GATEWAY_RATE_BUCKETS, gatewayRateKey } from "./rate-limits.ts";
export type { GatewayRateLimitsOptions } from "./rate-limits.ts";
