/** The gateway service: the browser-facing edge composing the other four. */
export { createGatewayService, GATEWAY_READ_LIMITS } from "./gateway-service.ts";
export type { GatewayServiceOptions } from "./gateway-service.ts";
