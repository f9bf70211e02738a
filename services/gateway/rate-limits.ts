// The gateway's rate limits, declared in one place: what each method costs, from which bucket, and
// whether it fails closed (sign-in, sign-up) or open to a per-replica limiter (reads) while Redis is away.

import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import type { CallHookContext, ServerCallHooks } from "../../mesh/engine/index.ts";
import { createRateLimitHooks, createRedisRateLimiter, type MethodRateLimit, type RateBucket } from "../../mesh/ratelimit/index.ts";
import { type ClientAddressOf, peerAddressOf } from "./client-address.ts";

/** The buckets every key (a signed-in caller's credential, else the client address) has, per gateway fleet. */
export const GATEWAY_RATE_BUCKETS = {
  /** Sign-in and sign-up: 60 at once, then 2 a second. */
  auth: { ratePerSecond: 2, burst: 60 },
  /** Everything else: 200 units at once, then 100 a second. */
  api: { ratePerSecond: 100, burst: 200 },
} as const satisfies Record<string, RateBucket>;

const m = GatewayService.method;
const procedure = (method: { name: string }) => `/${GatewayService.typeName}/${method.name}`;

/** Cost of each gateway method (every method is listed: services-units test; other services' methods are not limited). */
export const GATEWAY_METHOD_COSTS: Readonly<Record<string, MethodRateLimit>> = {
  [procedure(m.signIn)]: { bucket: "auth", cost: 1, whenUnavailable: "closed" },
  // A sign-up hashes a password and writes a user: dearer than a sign-in.
  [procedure(m.signUp)]: { bucket: "auth", cost: 2, whenUnavailable: "closed" },
  // A search fans out to catalog and inventory.
  [procedure(m.browse)]: { bucket: "api", cost: 2, whenUnavailable: "open" },
  [procedure(m.getProductDetails)]: { bucket: "api", cost: 1, whenUnavailable: "open" },
  // Inventory never oversells on its own; the limit only bounds how fast one caller can try.
  [procedure(m.checkout)]: { bucket: "api", cost: 5, whenUnavailable: "open" },
  [procedure(m.listMyOrders)]: { bucket: "api", cost: 1, whenUnavailable: "open" },
  [procedure(m.recommendForMe)]: { bucket: "api", cost: 1, whenUnavailable: "open" },
  [procedure(m.getSimilarProducts)]: { bucket: "api", cost: 1, whenUnavailable: "open" },
  // Ends a session: cheap, and must work while Redis limits are down.
  [procedure(m.signOut)]: { bucket: "api", cost: 1, whenUnavailable: "open" },
};

// A browser session travels in a `__Host-` cookie; its value identifies the signed-in browser.
const HOST_COOKIE = /(?:^|;\s*)__Host-[^=;\s]+=([^;]+)/;

const digest = (secret: string) => createHash("sha256").update(secret).digest("base64url").slice(0, 22);

/**
 * Whose allowance a call spends: the caller's bearer credential or `__Host-` session cookie (hashed;
 * never stored or logged as is) when it sends one, else its address (`clientAddress`, default the
 * socket's); undefined (not limited) when the transport knows neither.
 */
export function gatewayRateKey(context: CallHookContext, clientAddress: ClientAddressOf = peerAddressOf): string | undefined {
  const authorization = context.requestHeader.get("authorization");
  if (authorization !== null && authorization !== "") return `cred:${digest(authorization)}`;
  const session = HOST_COOKIE.exec(context.requestHeader.get("cookie") ?? "")?.[1];
  if (session !== undefined) return `cred:${digest(session)}`;
  const address = clientAddress(context);
  return address === undefined ? undefined : `addr:${address}`;
}

/** Options of {@link createGatewayRateLimits}. */
export interface GatewayRateLimitsOptions {
  /** Redis shared by every gateway replica; undefined limits each process on its own. Default undefined. */
  readonly redis?: Redis;
  /** Prefix of the limiter's Redis keys. Default "gateway:ratelimit:v1:". */
  readonly keyPrefix?: string;
  /** Other bucket sizes (tests, or a deployment's own). Default GATEWAY_RATE_BUCKETS. */
  readonly buckets?: Readonly<Record<keyof typeof GATEWAY_RATE_BUCKETS, RateBucket>>;
  /** Told about each refusal. Default: nothing. */
  readonly onRefused?: (procedure: string, reason: "limited" | "unavailable") => void;
  /** Where a call without credentials came from (client-address.ts). Default: the socket's address. */
  readonly clientAddress?: ClientAddressOf;
}

/** The gateway's rate-limit hooks (mesh/ratelimit with the shop's table). */
export function createGatewayRateLimits(options: GatewayRateLimitsOptions = {}): ServerCallHooks {
  return createRateLimitHooks({
    buckets: options.buckets ?? GATEWAY_RATE_BUCKETS,
    methods: GATEWAY_METHOD_COSTS,
    limiter: options.redis === undefined ? undefined : createRedisRateLimiter({ redis: options.redis, keyPrefix: options.keyPrefix ?? "gateway:ratelimit:v1:" }),
    keyOf: (context) => gatewayRateKey(context, options.clientAddress),
    onRefused: options.onRefused,
  });
}

/** `GATEWAY_RATE_LIMITS` ("on", the default, or "off" for load tests from one address); undefined when it is neither. */
export function readGatewayRateLimitsSetting(env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env.GATEWAY_RATE_LIMITS?.trim() || "on";
  return value === "on" ? true : value === "off" ? false : undefined;
}

/** The --help line of `GATEWAY_RATE_LIMITS`. */
export const GATEWAY_RATE_LIMITS_VARIABLE = { name: "GATEWAY_RATE_LIMITS", defaultText: "on", description: "off lifts the gateway's per-caller rate limits (load tests from one address only)" } as const;
