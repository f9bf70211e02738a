// The shop over a real socket with plain fetch (Connect JSON over HTTP/1.1), end to end through the
// gateway: success, every error code the shop uses, deadlines, metadata, GET, unknown methods, and
// concurrent checkouts that must never oversell.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { lowStockProduct, SLOW_PASSWORD_PREFIX, soldOutProduct, startTestShop, uniqueEmail } from "./shop-fixture.ts";

let shop: InProcessShop;
beforeAll(async () => {
  shop = await startTestShop();
});
afterAll(() => shop?.close());

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

/** One Connect unary call with JSON, as a newcomer would write it with fetch. */
async function call(method: string, message: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(message),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

async function signUp(label: string): Promise<string> {
  const reply = await call("SignUp", { email: uniqueEmail(label), password: "correct-horse", displayName: label });
  expect(reply.status).toBe(200);
  return reply.body.accessToken as string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("shop over Connect JSON (fetch, HTTP/1.1)", () => {
  it("places an order end to end: sign up, browse, check out, list my orders", async () => {
    const token = await signUp("buyer");
    const browse = await call("Browse", { query: "oak kettle", pageSize: 5 });
    expect(browse.status).toBe(200);
    const view = browse.body.products[0];
    expect(view.product.name.toLowerCase()).toContain("kettle");
    const checkout = await call("Checkout", { items: [{ productId: view.product.id, quantity: 2 }] }, bearer(token));
    expect(checkout.status).toBe(200);
    const order = checkout.body.order;
    expect(order.status).toBe("ORDER_STATUS_PLACED");
    expect(order.totalCents).toBe(String(2n * BigInt(view.product.priceCents)));
    const details = await call("GetProductDetails", { id: view.product.id });
    expect(details.body.product.available).toBe(String(BigInt(view.available) - 2n));
    const mine = await call("ListMyOrders", {}, bearer(token));
    expect(mine.body.orders.map((o: { id: string }) => o.id)).toEqual([order.id]);
  });

  it("serves NO_SIDE_EFFECTS methods over HTTP GET", async () => {
    const message = encodeURIComponent(JSON.stringify({ id: "prod-0001" }));
    const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/GetProductDetails?connect=v1&encoding=json&message=${message}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { product: { product: { id: string } } };
    expect(body.product.product.id).toBe("prod-0001");
  });

  it("answers each error with its own code and HTTP status, never INTERNAL", async () => {
    const token = await signUp("errors");
    const email = uniqueEmail("taken");
    expect((await call("SignUp", { email, password: "password-1", displayName: "T" })).status).toBe(200);
    const cases: Array<[string, unknown, Record<string, string>, number, string, RegExp]> = [
      ["SignUp", { email: "nope", password: "password-1", displayName: "N" }, {}, 400, "invalid_argument", /^email: /],
      ["SignUp", { email: uniqueEmail("p"), password: "short", displayName: "N" }, {}, 400, "invalid_argument", /^password: /],
      ["Browse", { pageSize: 501 }, {}, 400, "invalid_argument", /^page_size: /],
      ["Checkout", { items: [{ productId: "prod-0001", quantity: 0 }] }, bearer(token), 400, "invalid_argument", /^items\[0\]\.quantity: /],
      ["GetProductDetails", { id: "prod-9999" }, {}, 404, "not_found", /prod-9999/],
      ["Checkout", { items: [{ productId: "prod-9999", quantity: 1 }] }, bearer(token), 404, "not_found", /prod-9999/],
      ["Checkout", { items: [{ productId: soldOutProduct(), quantity: 1 }] }, bearer(token), 400, "failed_precondition", /out of stock/],
      ["Checkout", { items: [{ productId: "prod-0001", quantity: 1 }] }, {}, 401, "unauthenticated", /authorization/],
      ["Checkout", { items: [{ productId: "prod-0001", quantity: 1 }] }, bearer("forged.token.value"), 401, "unauthenticated", /not valid/],
      ["SignIn", { email, password: "wrong-password" }, {}, 401, "unauthenticated", /incorrect/],
      ["SignUp", { email, password: "password-1", displayName: "T" }, {}, 409, "already_exists", /already exists/],
    ];
    for (const [method, message, headers, status, code, text] of cases) {
      const reply = await call(method, message, headers);
      expect([method, reply.status, reply.body.code], JSON.stringify(reply.body)).toEqual([method, status, code]);
      expect(reply.body.message).toMatch(text);
    }
  });

  it("answers DEADLINE_EXCEEDED when the caller's deadline passes, and stays healthy", async () => {
    const started = Date.now();
    const reply = await call(
      "SignUp",
      { email: uniqueEmail("slow"), password: `${SLOW_PASSWORD_PREFIX}password`, displayName: "Slow" },
      { "connect-timeout-ms": "200" },
    );
    expect(reply.body.code).toBe("deadline_exceeded");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await call("Browse", { pageSize: 1 })).status).toBe(200);
  });

  it("round-trips metadata: x-request-id comes back, the bearer token reaches identity", async () => {
    const token = await signUp("meta");
    const reply = await call("ListMyOrders", {}, { ...bearer(token), "x-request-id": "trace-me-123" });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-request-id")).toBe("trace-me-123");
  });

  it("answers UNIMPLEMENTED for an unknown method or service", async () => {
    for (const path of ["shop.gateway.v1.GatewayService/Refund", "shop.nope.v1.NopeService/Get"]) {
      const response = await fetch(`${shop.url}/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe("unimplemented");
    }
  });

  it("never oversells a low-stock product under concurrent checkouts", async () => {
    const { id, units } = lowStockProduct();
    const tokens = await Promise.all([signUp("rush-a"), signUp("rush-b"), signUp("rush-c")]);
    const attempts = 30;
    const replies = await Promise.all(
      Array.from({ length: attempts }, (_, i) => call("Checkout", { items: [{ productId: id, quantity: 1 }] }, bearer(tokens[i % 3]))),
    );
    const placed = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status !== 200);
    expect(placed).toHaveLength(units);
    for (const r of refused) expect(r.body.code).toBe("failed_precondition");
    const details = await call("GetProductDetails", { id });
    expect(details.body.product.available ?? "0").toBe("0");
    const orders = (await Promise.all(tokens.map((t) => call("ListMyOrders", {}, bearer(t))))).flatMap((r) => r.body.orders ?? []);
    expect(orders.filter((o: { items: Array<{ productId: string }> }) => o.items[0].productId === id)).toHaveLength(units);
  });
});
