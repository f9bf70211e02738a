// The shop's recommendation loop end to end, in process: a signed-in user's checkout publishes
// OrderPlaced, recommendations records it and retrains, and the gateway's RecommendForMe then answers
// from that user's purchase (a newer model version, never the product already bought).
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { startTestShop, uniqueEmail } from "./shop-fixture.ts";
import { waitUntil } from "../backends/servers.ts";

let shop: InProcessShop;
beforeAll(async () => {
  shop = await startTestShop({ recommendationsTrainIntervalMs: 200 });
});
afterAll(() => shop?.close());

describe("recommendations in the shop", () => {
  it("learns a checkout from OrderPlaced and recommends from it to that user", async () => {
    const gateway = createClient(GatewayService, createConnectTransport({ baseUrl: shop.url, httpVersion: "1.1" }));
    const visitor = await gateway.recommendForMe({});
    const { accessToken } = await gateway.signUp({ email: uniqueEmail("recs"), password: "recs-flow-pass-1", displayName: "Recs" });
    const headers = { authorization: `Bearer ${accessToken}` };
    const { products } = await gateway.browse({ pageSize: 50 });
    const bought = products.find((v) => v.available > 0n)!.product!;
    await gateway.checkout({ items: [{ productId: bought.id, quantity: 1 }] }, { headers });

    let answer = await gateway.recommendForMe({}, { headers });
    await waitUntil(async () => (answer = await gateway.recommendForMe({}, { headers })).modelVersion > visitor.modelVersion, 15_000, "a model trained on the checkout");
    expect(answer.products.length).toBeGreaterThan(0);
    expect(answer.products.map((p) => p.id)).not.toContain(bought.id);
    // From the purchase, not from nothing: most answers share the bought product's category (content part).
    expect(answer.products.filter((p) => p.category === bought.category).length).toBeGreaterThanOrEqual(answer.products.length / 2);
    const similar = await gateway.getSimilarProducts({ id: bought.id, limit: 3 });
    expect(similar.products).toHaveLength(3);
  });
});
