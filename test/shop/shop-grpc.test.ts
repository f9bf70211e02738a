// The shop over a real socket with a real @grpc/grpc-js client (HTTP/2, binary Protobuf), built
// dynamically from the generated descriptors: no .proto loading, no Connect code on the client side.
import { create, type DescMessage, type DescMethodUnary, fromBinary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { lowStockProduct, SLOW_PASSWORD_PREFIX, soldOutProduct, startTestShop, uniqueEmail } from "./shop-fixture.ts";

let shop: InProcessShop;
let client: grpc.Client;
beforeAll(async () => {
  shop = await startTestShop();
  client = new grpc.Client(new URL(shop.url).host, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await shop?.close();
});

interface Outcome<O extends DescMessage> {
  response?: MessageShape<O>;
  error?: grpc.ServiceError;
  headers: grpc.Metadata;
}

/** One unary gRPC call; resolves with the response or the error, plus the response headers. */
function unary<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  metadata: Record<string, string> = {},
  options: grpc.CallOptions = {},
): Promise<Outcome<O>> {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return new Promise((resolve) => {
    let headers = new grpc.Metadata();
    const call = client.makeUnaryRequest<MessageInitShape<I>, MessageShape<O>>(
      `/${method.parent.typeName}/${method.name}`,
      (value) => Buffer.from(toBinary(method.input, create(method.input, value))),
      (bytes) => fromBinary(method.output, bytes),
      input,
      md,
      options,
      (error, response) => resolve({ response: response ?? undefined, error: error ?? undefined, headers }),
    );
    call.on("metadata", (received) => {
      headers = received;
    });
  });
}

const m = GatewayService.method;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signUp(label: string): Promise<string> {
  const { response, error } = await unary(m.signUp, { email: uniqueEmail(label), password: "correct-horse", displayName: label });
  expect(error).toBeUndefined();
  return response!.accessToken;
}

describe("shop over gRPC (@grpc/grpc-js, HTTP/2)", () => {
  it("browses, signs up, checks out and lists orders", async () => {
    const browse = await unary(m.browse, { pageSize: 3 });
    expect(browse.error).toBeUndefined();
    expect(browse.response?.products.map((v) => v.product?.id)).toEqual(["prod-0001", "prod-0002", "prod-0003"]);
    const token = await signUp("grpc-buyer");
    const checkout = await unary(m.checkout, { items: [{ productId: "prod-0002", quantity: 3 }] }, bearer(token));
    expect(checkout.error).toBeUndefined();
    expect(checkout.response?.order?.status).toBe(OrderStatus.PLACED);
    expect(checkout.response?.order?.totalCents).toBe(3n * browse.response!.products[1].product!.priceCents);
    const mine = await unary(m.listMyOrders, {}, bearer(token));
    expect(mine.response?.orders.map((o) => o.id)).toEqual([checkout.response?.order?.id]);
  });

  it("answers each error with its own gRPC status", async () => {
    const token = await signUp("grpc-errors");
    const email = uniqueEmail("grpc-taken");
    expect((await unary(m.signUp, { email, password: "password-1", displayName: "T" })).error).toBeUndefined();
    const cases: Array<[() => Promise<Outcome<DescMessage>>, grpc.status, RegExp]> = [
      [() => unary(m.signUp, { email: "bad", password: "password-1", displayName: "B" }), grpc.status.INVALID_ARGUMENT, /email: /],
      [() => unary(m.checkout, { items: [] }, bearer(token)), grpc.status.INVALID_ARGUMENT, /^items: .* \[repeated\.min_items\]$/],
      [() => unary(m.getProductDetails, { id: "prod-9999" }), grpc.status.NOT_FOUND, /prod-9999/],
      [() => unary(m.checkout, { items: [{ productId: soldOutProduct(), quantity: 1 }] }, bearer(token)), grpc.status.FAILED_PRECONDITION, /out of stock/],
      [() => unary(m.checkout, { items: [{ productId: "prod-0001", quantity: 1 }] }), grpc.status.UNAUTHENTICATED, /authorization/],
      [() => unary(m.listMyOrders, {}, bearer("not-a-token")), grpc.status.UNAUTHENTICATED, /not valid/],
      [() => unary(m.signUp, { email, password: "password-1", displayName: "T" }), grpc.status.ALREADY_EXISTS, /already exists/],
    ];
    for (const [run, code, text] of cases) {
      const { error } = await run();
      expect(grpc.status[error?.code ?? grpc.status.OK], error?.details).toBe(grpc.status[code]);
      // The field name arrives intact (grpc-message escapes only what the gRPC spec asks).
      expect(error?.details).toMatch(text);
    }
  });

  it("answers DEADLINE_EXCEEDED when the deadline passes", async () => {
    const started = Date.now();
    const { error } = await unary(
      m.signUp,
      { email: uniqueEmail("grpc-slow"), password: `${SLOW_PASSWORD_PREFIX}password`, displayName: "Slow" },
      {},
      { deadline: Date.now() + 250 },
    );
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("round-trips metadata: request headers reach the handlers, response headers come back", async () => {
    const token = await signUp("grpc-meta");
    const { response, error, headers } = await unary(m.listMyOrders, {}, { ...bearer(token), "x-request-id": "grpc-req-7" });
    expect(error).toBeUndefined();
    expect(response?.orders).toEqual([]);
    expect(headers.get("x-request-id")).toEqual(["grpc-req-7"]);
  });

  it("answers UNIMPLEMENTED for an unknown method and an unknown service", async () => {
    for (const path of ["/shop.gateway.v1.GatewayService/Refund", "/shop.nope.v1.NopeService/Get"]) {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(path, (v: Buffer) => v, (v: Buffer) => v, Buffer.alloc(0), new grpc.Metadata(), {}, (err) => resolve(err)),
      );
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
    }
  });

  it("never oversells under concurrent gRPC checkouts", async () => {
    const { id, units } = lowStockProduct();
    const token = await signUp("grpc-rush");
    const outcomes = await Promise.all(Array.from({ length: 25 }, () => unary(m.checkout, { items: [{ productId: id, quantity: 1 }] }, bearer(token))));
    expect(outcomes.filter((o) => !o.error)).toHaveLength(units);
    for (const o of outcomes.filter((o) => o.error)) expect(o.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await unary(m.getProductDetails, { id })).response?.product?.available).toBe(0n);
  });
});
