import { Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createRouterShop, rejection } from "../../test/support/shop/router-shop.ts";
import { violationsOf } from "../../test/support/violations.ts";

const shop = await createRouterShop();
afterAll(() => shop.close());

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("GatewayService", () => {
  it("browses pages of products with their stock, and searches", async () => {
    const first = await shop.gateway.browse({ pageSize: 3 });
    expect(first.products.map((v) => v.product?.id)).toEqual(["prod-0001", "prod-0002", "prod-0003"]);
    const { levels } = await shop.inventory.getStock({ productIds: ["prod-0001"] });
    expect(first.products[0].available).toBe(levels[0].available);
    const second = await shop.gateway.browse({ pageSize: 3, pageToken: first.nextPageToken });
    expect(second.products[0].product?.id).toBe("prod-0004");
    const found = await shop.gateway.browse({ query: "kettle", category: "kitchen" });
    expect(found.products.length).toBeGreaterThan(0);
    expect(found.products.every((v) => v.product?.category === "kitchen" && v.product.name.toLowerCase().includes("kettle"))).toBe(true);
    expect((await rejection(shop.gateway.browse({ query: "kettle", pageToken: first.nextPageToken }))).rawMessage).toBe(
      "page_token: is not supported together with query",
    );
    expect(violationsOf(await rejection(shop.gateway.browse({ pageSize: 1000 })))).toEqual([["page_size", "int32.gte_lte"]]);
  });

  it("shows one product's details, NOT_FOUND passed through from the catalog", async () => {
    const { product } = await shop.gateway.getProductDetails({ id: "prod-0100" });
    expect(product?.product?.id).toBe("prod-0100");
    expect(product?.available).toBe(0n); // every 100th seed product is sold out
    const missing = await rejection(shop.gateway.getProductDetails({ id: "prod-9999" }));
    expect(missing.code).toBe(Code.NotFound);
  });

  it("signs up, signs in, checks out and lists the user's orders", async () => {
    const signUp = await shop.gateway.signUp({ email: "shopper@example.com", password: "s3cret-pass", displayName: "Shopper" });
    expect(signUp.user?.email).toBe("shopper@example.com");
    const signIn = await shop.gateway.signIn({ email: "shopper@example.com", password: "s3cret-pass" });
    expect(signIn.user?.id).toBe(signUp.user?.id);
    const before = (await shop.gateway.getProductDetails({ id: "prod-0005" })).product!.available;
    const { order } = await shop.gateway.checkout({ items: [{ productId: "prod-0005", quantity: 2 }] }, bearer(signIn.accessToken));
    expect(order?.userId).toBe(signUp.user?.id);
    expect(order?.status).toBe(OrderStatus.PLACED);
    expect((await shop.gateway.getProductDetails({ id: "prod-0005" })).product!.available).toBe(before - 2n);
    const mine = await shop.gateway.listMyOrders({}, bearer(signUp.accessToken));
    expect(mine.orders.map((o) => o.id)).toEqual([order?.id]);
  });

  it("keeps every downstream code: UNAUTHENTICATED, ALREADY_EXISTS, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION", async () => {
    const { accessToken } = await shop.gateway.signUp({ email: "codes@example.com", password: "password-1", displayName: "C" });
    const cases: Array<[() => Promise<unknown>, Code, RegExp]> = [
      [() => shop.gateway.checkout({ items: [{ productId: "prod-0001", quantity: 1 }] }), Code.Unauthenticated, /sign in first/],
      [() => shop.gateway.checkout({ items: [{ productId: "prod-0001", quantity: 1 }] }, bearer("forged")), Code.Unauthenticated, /not valid/],
      [() => shop.gateway.listMyOrders({}), Code.Unauthenticated, /authorization/],
      [() => shop.gateway.signIn({ email: "codes@example.com", password: "wrong-password" }), Code.Unauthenticated, /incorrect/],
      [() => shop.gateway.signUp({ email: "codes@example.com", password: "password-1", displayName: "C" }), Code.AlreadyExists, /already exists/],
      [() => shop.gateway.signUp({ email: "bad", password: "password-1", displayName: "C" }), Code.InvalidArgument, /^email: /],
      [() => shop.gateway.checkout({ items: [] }, bearer(accessToken)), Code.InvalidArgument, /^items: /],
      [() => shop.gateway.checkout({ items: [{ productId: "prod-0001", quantity: 0 }] }, bearer(accessToken)), Code.InvalidArgument, /^items\[0\]\.quantity: /],
      [() => shop.gateway.checkout({ items: [{ productId: "prod-9999", quantity: 1 }] }, bearer(accessToken)), Code.NotFound, /prod-9999/],
      [() => shop.gateway.checkout({ items: [{ productId: "prod-0200", quantity: 1 }] }, bearer(accessToken)), Code.FailedPrecondition, /out of stock/],
    ];
    for (const [call, code, message] of cases) {
      const err = await rejection(call());
      expect(Code[err.code], err.rawMessage).toBe(Code[code]);
      expect(err.rawMessage).toMatch(message);
    }
  });

  it("echoes a caller's x-request-id, and makes one up when it is missing or unsafe", async () => {
    const seen: string[] = [];
    const onHeader = (headers: Headers) => seen.push(headers.get("x-request-id") ?? "");
    await shop.gateway.browse({ pageSize: 1 }, { headers: { "x-request-id": "req-42" }, onHeader });
    await shop.gateway.browse({ pageSize: 1 }, { onHeader });
    await shop.gateway.browse({ pageSize: 1 }, { headers: { "x-request-id": "<script>" }, onHeader });
    expect(seen[0]).toBe("req-42");
    expect(seen[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[2]).toMatch(/^[0-9a-f-]{36}$/);
  });
});
