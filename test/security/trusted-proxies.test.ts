// Behind a proxy every connection comes from the proxy. The gateway's per-address limits (failed
// sign-ins, rate limits without credentials) then use the address the trusted proxy saw
// (X-Forwarded-For, read from the right), and never an address a client wrote into the header itself.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAddressOf, createSignInThrottle, readTrustedProxies } from "../../services/gateway/index.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { startTestShop, uniqueEmail } from "../shop/shop-fixture.ts";
import { TEST_PASSWORD_PARAMS } from "../support/shop/router-shop.ts";

let behindProxy: InProcessShop;
let direct: InProcessShop;

beforeAll(async () => {
  // Test calls come from 127.0.0.1: the first shop trusts it as its proxy, the second trusts no proxy.
  [behindProxy, direct] = await Promise.all([
    startTestShop({ passwordParams: TEST_PASSWORD_PARAMS, edge: { signInThrottle: createSignInThrottle(), clientAddress: clientAddressOf(readTrustedProxies("127.0.0.1")) } }),
    startTestShop({ passwordParams: TEST_PASSWORD_PARAMS, edge: { signInThrottle: createSignInThrottle() } }),
  ]);
});
afterAll(async () => {
  await behindProxy?.close();
  await direct?.close();
});

/** A failed sign-in (an unknown account) as if forwarded for `forwardedFor`; the Connect error code. */
async function failedSignIn(shop: InProcessShop, forwardedFor: string): Promise<string> {
  const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/SignIn`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ email: uniqueEmail("proxied"), password: "not-the-password" }),
  });
  return ((await response.json()) as { code: string }).code;
}

describe("GATEWAY_TRUSTED_PROXIES", () => {
  it("behind a trusted proxy, locks the client address that failed 5 times and not the proxy's other clients", async () => {
    for (let i = 0; i < 5; i++) expect(await failedSignIn(behindProxy, "203.0.113.10"), `failure ${i + 1}`).toBe("unauthenticated");
    expect(await failedSignIn(behindProxy, "203.0.113.10")).toBe("resource_exhausted");
    // Another client of the same proxy still gets its attempts.
    expect(await failedSignIn(behindProxy, "203.0.113.11")).toBe("unauthenticated");
    // A locked client cannot escape by writing another address in front of the one the proxy appended.
    expect(await failedSignIn(behindProxy, "198.51.100.99, 203.0.113.10")).toBe("resource_exhausted");
  });

  it("without trusted proxies, X-Forwarded-For is ignored: every address a client claims is its own socket's", async () => {
    for (let i = 0; i < 5; i++) expect(await failedSignIn(direct, `203.0.113.${20 + i}`), `failure ${i + 1}`).toBe("unauthenticated");
    expect(await failedSignIn(direct, "203.0.113.99")).toBe("resource_exhausted");
  });
});
