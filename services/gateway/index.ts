/** The gateway service: the browser-facing edge composing the other four. */
export { createGatewayService } from "./gateway-service.ts";
export type { GatewayServiceOptions } from "./gateway-service.ts";
