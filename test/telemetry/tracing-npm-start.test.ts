// `npm start` (every service in one process, in-process calls, in-memory bus) traced into a real
// Jaeger: a Checkout sent by curl with a traceparent is one trace with the same tree as in distributed
// mode (gateway -> orders -> catalog / inventory -> OrderPlaced publish -> its consumer); a SignUp's
// trace holds the worker thread's task span; a grpc-js caller's traceparent is continued too.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowseRequestSchema, BrowseResponseSchema } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { newTraceparent, renderTree, startJaeger, type Jaeger, type StoredSpan } from "./jaeger.ts";

const curl = promisify(execFile);
const repo = fileURLToPath(new URL("../../", import.meta.url));
let jaeger: Jaeger;
let shop: ChildProcess;
let url = "";

beforeAll(async () => {
  jaeger = await startJaeger();
  shop = spawn(process.execPath, ["services/start.ts"], {
    cwd: repo,
    env: { ...process.env, PORT: "0", WEB: "off", OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "100" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  shop.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  const deadline = Date.now() + 45_000;
  while (!out.includes("SIGTERM drains")) {
    if (shop.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(out).toContain(`tracing: on, OTLP to ${jaeger.otlpEndpoint}/v1/traces`);
  url = /Weft shop: (http:\/\/\S+)/.exec(out)![1];
}, 60_000);

afterAll(async () => {
  shop?.kill("SIGKILL");
  await jaeger?.stop();
});

async function curlJson(method: string, body: unknown, headers: Record<string, string>): Promise<Record<string, unknown>> {
  const args = ["-sS", "-X", "POST", `${url}/shop.gateway.v1.GatewayService/${method}`, "-H", "content-type: application/json", "-d", JSON.stringify(body)];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  const { stdout } = await curl("curl", args);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const by = (kind: string, method: string) => (s: StoredSpan) => s.kind === kind && s.name.endsWith(`/${method}`);

describe("tracing through npm start (real Jaeger)", () => {
  it("a Checkout sent by curl is one trace: gateway -> orders -> catalog / inventory -> OrderPlaced -> consumer; SignUp holds the worker span", async () => {
    const password = `pw-${randomUUID()}`;
    const signUpTrace = newTraceparent();
    const signUp = await curlJson("SignUp", { email: `u${randomUUID()}@example.com`, password, displayName: "T" }, { traceparent: signUpTrace.traceparent });
    const token = String(signUp.accessToken);
    const browse = await curlJson("Browse", { query: "kettle", pageSize: 3 }, {});
    const product = (browse.products as { product: { id: string }; available: number }[]).find((p) => p.available > 0)!.product;
    const t = newTraceparent();
    const checkout = await curlJson("Checkout", { items: [{ productId: product.id, quantity: 1 }] }, { traceparent: t.traceparent, authorization: `Bearer ${token}` });
    expect(checkout.order).toBeDefined();

    const spans = await jaeger.waitForTrace(t.traceId, (s) => s.some((x) => x.kind === "CONSUMER" && x.attributes["weft.event.type"] === "shop.events.v1.OrderPlaced") && s.some(by("SERVER", "Checkout")));
    console.log(`Checkout trace (npm start):\n${renderTree(spans)}`);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(["weft-shop"]));
    const gateway = spans.find(by("SERVER", "Checkout"))!;
    expect(gateway.parentSpanId).toBe(t.spanId);
    const toOrders = spans.find(by("CLIENT", "PlaceOrder"))!;
    expect(toOrders.parentSpanId).toBe(gateway.spanId);
    expect(toOrders.attributes["weft.rpc.protocol"]).toBe("in-process");
    const orders = spans.find(by("SERVER", "PlaceOrder"))!;
    expect(orders.parentSpanId).toBe(toOrders.spanId);
    for (const service of ["shop.catalog.v1.CatalogService", "shop.inventory.v1.InventoryService"]) {
      const client = spans.find((s) => s.kind === "CLIENT" && s.attributes["rpc.service"] === service && s.parentSpanId === orders.spanId);
      expect(client, `orders -> ${service}`).toBeDefined();
      expect(spans.some((s) => s.kind === "SERVER" && s.parentSpanId === client!.spanId && s.attributes["rpc.service"] === service)).toBe(true);
    }
    const publish = spans.find((s) => s.kind === "PRODUCER" && s.attributes["weft.event.type"] === "shop.events.v1.OrderPlaced")!;
    expect(publish.parentSpanId).toBe(orders.spanId);
    const consume = spans.find((s) => s.kind === "CONSUMER" && s.attributes["weft.event.type"] === "shop.events.v1.OrderPlaced")!;
    expect(consume.parentSpanId).toBe(publish.spanId);

    const signUpSpans = await jaeger.waitForTrace(signUpTrace.traceId, (s) => s.some((x) => x.name === "compute.run hashPassword") && s.some(by("SERVER", "SignUp")));
    const task = signUpSpans.find((s) => s.name === "compute.run hashPassword")!;
    expect(Number(task.attributes["thread.id"])).toBeGreaterThan(0);
    expect(signUpSpans.find((s) => s.spanId === task.parentSpanId)?.name).toBe("compute hashPassword");
    const raw = JSON.stringify(await Promise.all([t, signUpTrace].map((x) => fetch(`${jaeger.queryUrl}/api/v3/traces/${x.traceId}`).then((r) => r.json()))));
    for (const secret of [password, token]) expect(raw.includes(secret)).toBe(false);
  }, 60_000);

  it("continues the trace of a grpc-js caller (traceparent metadata) and marks the span kind and gRPC status", async () => {
    const definition: grpc.ServiceDefinition = {
      Browse: {
        path: "/shop.gateway.v1.GatewayService/Browse",
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: Uint8Array) => Buffer.from(v),
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (v: Uint8Array) => Buffer.from(v),
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const Ctor = grpc.makeGenericClientConstructor(definition, "GatewayService");
    const client = new Ctor(url.replace("http://", ""), grpc.credentials.createInsecure());
    const t = newTraceparent();
    const meta = new grpc.Metadata();
    meta.set("traceparent", t.traceparent);
    const bytes = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest("/shop.gateway.v1.GatewayService/Browse", (v: Uint8Array) => Buffer.from(v), (b: Buffer) => b, toBinary(BrowseRequestSchema, create(BrowseRequestSchema, { query: "kettle", pageSize: 2 })), meta, (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!))),
    );
    client.close();
    expect(fromBinary(BrowseResponseSchema, bytes).products.length).toBeGreaterThan(0);
    const spans = await jaeger.waitForTrace(t.traceId, (s) => s.some(by("SERVER", "Browse")));
    const server = spans.find(by("SERVER", "Browse"))!;
    expect(server.parentSpanId).toBe(t.spanId);
    expect(server.attributes["rpc.system"]).toBe("grpc");
    expect(server.attributes["rpc.grpc.status_code"]).toBe(0);
  }, 30_000);
});
