/** The gateway service: the browser-facing edge composing the other four, with its sessions, sign-in lockout and JWKS route. */
export { createGatewayService, GATEWAY_READ_LIMITS } from "./gateway-service.ts";
export type { GatewayServiceOptions } from "./gateway-service.ts";
export { isBrowser, PLAIN_SESSION_COOKIE, SECURE_SESSION_COOKIE, sessionCookieName } from "./browser-edge.ts";
export { createSessionStore } from "./session-store.ts";
export type { SessionStore, SessionStoreOptions } from "./session-store.ts";
export { createSignInThrottle } from "./sign-in-throttle.ts";
export type { SignInThrottle, SignInThrottleOptions } from "./sign-in-throttle.ts";
export { JWKS_PATH, withJwksRoute } from "./jwks-route.ts";
export { createGatewayRateLimits, GATEWAY_METHOD_COSTS, GATEWAY_RATE_BUCKETS, GATEWAY_RATE_LIMITS_VARIABLE, gatewayRateKey, readGatewayRateLimitsSetting } from "./rate-limits.ts";
export type { GatewayRateLimitsOptions } from "./rate-limits.ts";
export { clientAddressOf, GATEWAY_TRUSTED_PROXIES_VARIABLE, peerAddressOf, readTrustedProxies, type ClientAddressOf } from "./client-address.ts";
