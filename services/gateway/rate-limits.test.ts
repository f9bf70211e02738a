// The gateway's rate-limit table: every GatewayService method has a cost that fits its bucket, sign-in
// and sign-up fail closed, and the key never carries the caller's credential itself.

import { describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import type { CallHookContext } from "../../mesh/engine/index.ts";
import { createGatewayRateLimits, GATEWAY_METHOD_COSTS, GATEWAY_RATE_BUCKETS, gatewayRateKey } from "./index.ts";

const context = (headers: Record<string, string>, peerAddress?: string) => ({ requestHeader: new Headers(headers), peerAddress }) as unknown as CallHookContext;

describe("gateway rate limits", () => {
  it("cost every gateway method from a bucket it fits in; sign-in and sign-up fail closed, the rest open", () => {
    for (const method of GatewayService.methods) {
      const rule = GATEWAY_METHOD_COSTS[`/${GatewayService.typeName}/${method.name}`];
      expect(rule, method.name).toBeDefined();
      const bucket = GATEWAY_RATE_BUCKETS[rule.bucket as keyof typeof GATEWAY_RATE_BUCKETS];
      expect(rule.cost).toBeLessThanOrEqual(bucket.burst);
      expect(rule.whenUnavailable).toBe(method.name === "SignIn" || method.name === "SignUp" ? "closed" : "open");
    }
    expect(Object.keys(GATEWAY_METHOD_COSTS)).toHaveLength(GatewayService.methods.length);
    expect(() => createGatewayRateLimits()).not.toThrow();
    expect(() => createGatewayRateLimits({ buckets: { auth: { ratePerSecond: 1, burst: 1 }, api: GATEWAY_RATE_BUCKETS.api } })).toThrow(/WEFT_ERR_RATELIMIT_OPTIONS|cost/);
  });

  it("keys a call by a hash of its credential, else by its address", () => {
    const token = "Bearer eyJhbGciOiJFUzI1NiJ9.secret-token-body.sig";
    const key = gatewayRateKey(context({ authorization: token }, "10.0.0.1"))!;
    expect(key).toMatch(/^cred:[\w-]{22}$/);
    expect(key).not.toContain("secret-token-body");
    expect(gatewayRateKey(context({ authorization: token }, "10.0.0.2"))).toBe(key);
    expect(gatewayRateKey(context({}, "10.0.0.1"))).toBe("addr:10.0.0.1");
    const session = gatewayRateKey(context({ cookie: "theme=dark; __Host-weft-session=s3cr3t-session-id" }, "10.0.0.1"))!;
    expect(session).toMatch(/^cred:[\w-]{22}$/);
    expect(session).not.toContain("s3cr3t");
    expect(gatewayRateKey(context({ cookie: "theme=dark" }, "10.0.0.1"))).toBe("addr:10.0.0.1");
    expect(gatewayRateKey(context({}))).toBeUndefined();
  });
});
