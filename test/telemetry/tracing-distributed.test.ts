// One trace per request across processes, seen in a real Jaeger: the shop in distributed mode (the
// launcher's real processes, NATS discovery and events, Redis), called through its gateway with a
// W3C traceparent as curl or a browser would send it. A Checkout's trace must hold the whole tree:
// gateway server -> orders (client + server) -> catalog and inventory (client + server) -> the
// OrderPlaced publish -> inventory's consumer; a SignUp's trace holds the password-hashing task span
// recorded in a worker thread; a failed call is an error span with its code; no secret is in any span.

import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsDiscovery } from "../../mesh/discovery/index.ts";
import { stop, until } from "../distributed/fixtures/processes.ts";
import { deleteEventStreams } from "../support/event-streams.ts";
import { newTraceparent, renderTree, startJaeger, type Jaeger, type StoredSpan } from "./jaeger.ts";

const LAUNCHER = new URL("../../scripts/start-distributed.ts", import.meta.url).pathname;
const SERVICES = ["shop.catalog.v1.CatalogService", "shop.inventory.v1.InventoryService", "shop.identity.v1.IdentityService", "shop.orders.v1.OrderService", "shop.gateway.v1.GatewayService"];

let jaeger: Jaeger | undefined;
let nc: NatsConnection | undefined;
const launchers: ChildProcess[] = [];
const runs: string[] = [];

beforeAll(async () => {
  jaeger = await startJaeger();
  nc = await connect({ servers: "nats://127.0.0.1:4222", noAsyncTraces: true });
}, 40_000);

afterAll(async () => {
  for (const l of launchers) await stop(l, "SIGKILL");
  await jaeger?.stop();
  if (nc !== undefined) {
    await deleteEventStreams(runs.map((run) => `t${run}`), nc);
    await nc.close();
  }
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true });
  await redis.connect().catch(() => undefined);
  for (const run of runs) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `*t${run}*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
  redis.disconnect();
});

/** Connect JSON over HTTP/1.1 to the gateway, as curl would send it. */
async function callGateway(base: string, method: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/shop.gateway.v1.GatewayService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function one(spans: readonly StoredSpan[], where: (s: StoredSpan) => boolean, what: string): StoredSpan {
  const found = spans.filter(where);
  if (found.length !== 1) throw new Error(`expected exactly one ${what}, found ${found.length} in:\n${renderTree(spans)}`);
  return found[0];
}

const rpc = (service: string, kind: string, method: string) => (s: StoredSpan) => s.service === service && s.kind === kind && s.name.endsWith(`/${method}`);

describe("tracing across the distributed shop (real Jaeger)", () => {
  for (const transport of ["grpc", "nats"] as const) it(`a Checkout is one trace from the gateway to the OrderPlaced consumer; a SignUp holds the worker thread's span; errors carry their code; no secrets (services call over ${transport})`, async () => {
    const run = randomUUID().replaceAll("-", "").slice(0, 8);
    runs.push(run);
    const prefix = `weft.t${run}.registry`;
    const withRedis = transport === "grpc";
    const launcher = spawn(process.execPath, [LAUNCHER, "--instances", "catalog=1,gateway=1,identity=1,inventory=1,orders=1,recommendations=0", "--gateway-port", "0", "--transport", transport,
      // Secure NATS runs a broker of the launcher's own with users from the policies, which this test's
      // discovery watcher is not one of: over NATS the traces are checked on the shared server.
      ...(transport === "nats" ? ["--insecure"] : [])], {
      env: {
        ...process.env,
        MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: `weft.t${run}.rpc`, MESH_EVENTS_PREFIX: `t${run}`, MESH_HEARTBEAT_MS: "250",
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger!.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "100",
        ...(withRedis ? { REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" } : {}),
        // Orders in Redis or memory, not the shared `weft` database (whose outbox other runs' relays read).
        DATABASE_URL: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    launchers.push(launcher);
    const logs: string[] = [];
    launcher.stdout!.on("data", (c: Buffer) => logs.push(c.toString()));
    launcher.stderr!.on("data", (c: Buffer) => logs.push(c.toString()));
    const exited = new Promise<number | null>((r) => launcher.on("exit", (code) => r(code)));

    const discovery = createNatsDiscovery({ nc: nc!, subjectPrefix: prefix });
    await discovery.ready();
    await until(() => SERVICES.every((n) => discovery.endpoints(n).length > 0), 60_000, "all services up"); // generous: start-up of 5 processes on a loaded machine
    const base = `http://${discovery.endpoints("shop.gateway.v1.GatewayService")[0].address}`;

    // SignUp: the password is hashed on the identity process's worker pool.
    const password = `pw-${randomUUID()}`;
    const signUpTrace = newTraceparent();
    const signUp = await callGateway(base, "SignUp", { email: `u${run}@example.com`, password, displayName: "T" }, { traceparent: signUpTrace.traceparent });
    // On a failure, the answer and the processes' last log lines say which hop refused.
    const why = (answer: { json: unknown }) => `${JSON.stringify(answer.json)}\n${logs.join("").split("\n").slice(-40).join("\n")}`;
    expect(signUp.status, why(signUp)).toBe(200);
    const token = String(signUp.json.accessToken);

    // Browse for a product in stock, then check it out.
    const browse = await callGateway(base, "Browse", { query: "kettle", pageSize: 3 }, {});
    const product = (browse.json.products as { product: { id: string }; available: number }[]).find((p) => p.available > 0)!.product;
    const cookie = `session=${randomUUID()}`;
    const checkoutTrace = newTraceparent();
    const checkout = await callGateway(base, "Checkout", { items: [{ productId: product.id, quantity: 1 }] }, { traceparent: checkoutTrace.traceparent, authorization: `Bearer ${token}`, cookie });
    expect(checkout.status, why(checkout)).toBe(200);

    // A failed call: an unknown product.
    const failedTrace = newTraceparent();
    const failed = await callGateway(base, "Checkout", { items: [{ productId: "no-such-product", quantity: 1 }] }, { traceparent: failedTrace.traceparent, authorization: `Bearer ${token}` });
    expect(failed.status).not.toBe(200);
    const failedCode = String(failed.json.code);

    // ---- Checkout: the whole tree, in one trace.
    // Each process exports on its own schedule: wait until every one has delivered its part.
    const complete = (s: StoredSpan[]) =>
      s.some(rpc("gateway", "SERVER", "Checkout")) && s.some(rpc("orders", "SERVER", "PlaceOrder")) && s.some((x) => x.kind === "PRODUCER" && x.service === "orders") &&
      s.some((x) => x.kind === "CONSUMER" && x.service === "inventory") && s.some(rpc("catalog", "SERVER", "BatchGetProducts")) && s.some(rpc("inventory", "SERVER", "Reserve"));
    const spans = await jaeger!.waitForTrace(checkoutTrace.traceId, complete, 20_000);
    console.log(`Checkout trace (${transport}):\n${renderTree(spans)}`);
    const system = transport === "grpc" ? "grpc" : "connect_rpc";
    const gatewayServer = one(spans, rpc("gateway", "SERVER", "Checkout"), "gateway Checkout server span");
    expect(gatewayServer.parentSpanId).toBe(checkoutTrace.spanId); // continues the caller's trace
    expect(gatewayServer.attributes["rpc.system"]).toBe("connect_rpc");
    expect(gatewayServer.attributes["rpc.service"]).toBe("shop.gateway.v1.GatewayService");
    expect(gatewayServer.attributes["rpc.method"]).toBe("Checkout");
    // Under load an attempt may fail and be retried: the successful attempt is the one that carries on.
    const toOrders = one(spans, (s) => rpc("gateway", "CLIENT", "PlaceOrder")(s) && s.statusCode !== 2, "successful gateway -> orders client span");
    expect(toOrders.parentSpanId).toBe(gatewayServer.spanId);
    expect(toOrders.attributes["rpc.system"]).toBe(system);
    expect(toOrders.attributes["weft.rpc.protocol"]).toBe(transport);
    expect(toOrders.attributes["server.address"]).toBe("127.0.0.1");
    const ordersServer = one(spans, (s) => rpc("orders", "SERVER", "PlaceOrder")(s) && s.parentSpanId === toOrders.spanId, "orders server span");
    expect(ordersServer.parentSpanId).toBe(toOrders.spanId);
    if (transport === "grpc") expect(ordersServer.attributes["rpc.grpc.status_code"]).toBe(0);
    else expect(ordersServer.attributes["weft.rpc.protocol"]).toBe("nats");
    // orders calls catalog and inventory: each a client span under orders' server span, and a server span under it.
    for (const [service, serviceName] of [["catalog", "shop.catalog.v1.CatalogService"], ["inventory", "shop.inventory.v1.InventoryService"]] as const) {
      const clients = spans.filter((s) => s.service === "orders" && s.kind === "CLIENT" && s.attributes["rpc.service"] === serviceName && s.statusCode !== 2);
      expect(clients.length, `orders -> ${service} client spans`).toBeGreaterThan(0);
      for (const client of clients) {
        expect(client.parentSpanId).toBe(ordersServer.spanId);
        const server = one(spans, (s) => s.parentSpanId === client.spanId, `${service} server span of ${client.name}`);
        expect(server.service).toBe(service);
        expect(server.kind).toBe("SERVER");
        expect(server.attributes["rpc.method"]).toBe(client.attributes["rpc.method"]);
      }
    }
    const publish = one(spans, (s) => s.kind === "PRODUCER" && s.attributes["weft.event.type"] === "shop.events.v1.OrderPlaced", "OrderPlaced publish span");
    expect(publish.service).toBe("orders");
    expect(publish.attributes["messaging.system"]).toBe("nats");
    const ancestors = (s: StoredSpan, all: readonly StoredSpan[] = spans): string[] => {
      const parent = all.find((p) => p.spanId === s.parentSpanId);
      return parent === undefined ? [] : [parent.spanId, ...ancestors(parent, all)];
    };
    expect(ancestors(publish)).toContain(ordersServer.spanId);
    const consume = one(spans, (s) => s.kind === "CONSUMER" && s.service === "inventory" && s.attributes["weft.event.type"] === "shop.events.v1.OrderPlaced", "OrderPlaced consumer span");
    expect(consume.parentSpanId).toBe(publish.spanId);
    expect(consume.attributes["messaging.nats.message.delivery_count"]).toBe(1);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([checkoutTrace.traceId]));

    // ---- SignUp: the hashing task's span was recorded in identity's worker thread.
    const signUpSpans = await jaeger!.waitForTrace(signUpTrace.traceId, (s) => s.some((x) => x.name.startsWith("compute.run")) && s.some(rpc("gateway", "SERVER", "SignUp")) && s.some(rpc("identity", "SERVER", "Register")), 20_000);
    console.log(`SignUp trace (${transport}):\n${renderTree(signUpSpans)}`);
    const task = one(signUpSpans, (s) => s.name === "compute.run hashPassword", "worker-thread task span");
    expect(task.service).toBe("identity");
    expect(Number(task.attributes["thread.id"])).toBeGreaterThan(0); // not the main thread (0)
    const queued = one(signUpSpans, (s) => s.name === "compute hashPassword", "main-thread task span");
    expect(task.parentSpanId).toBe(queued.spanId);
    expect(typeof queued.attributes["weft.compute.queue_ms"]).toBe("number");
    expect(ancestors(queued, signUpSpans)).toContain(one(signUpSpans, rpc("identity", "SERVER", "Register"), "identity Register server span").spanId);

    // ---- The failed call: an error span with the code the caller got.
    const failedSpans = await jaeger!.waitForTrace(failedTrace.traceId, (s) => s.some(rpc("gateway", "SERVER", "Checkout")) && s.some(rpc("gateway", "CLIENT", "PlaceOrder")), 20_000);
    console.log(`failed Checkout trace (${transport}):\n${renderTree(failedSpans)}`);
    const failedServer = one(failedSpans, rpc("gateway", "SERVER", "Checkout"), "failed gateway span");
    expect(failedServer.attributes["rpc.connect_rpc.error_code"]).toBe(failedCode);
    const failedClient = failedSpans.filter(rpc("gateway", "CLIENT", "PlaceOrder")).at(-1)!;
    expect(failedClient.statusCode).toBe(2);
    if (transport === "grpc") expect(failedClient.attributes["rpc.grpc.status_code"]).toBeGreaterThan(0);
    else expect(failedClient.attributes["rpc.connect_rpc.error_code"]).toBe(failedCode);

    // ---- No secret in any span of these traces: not the password, the token, the cookie, nor the header names.
    const raw = JSON.stringify(await Promise.all([signUpTrace, checkoutTrace, failedTrace].map((t) => fetch(`${jaeger!.queryUrl}/api/v3/traces/${t.traceId}`).then((r) => r.json()))));
    for (const secret of [password, token, cookie, token.split(".")[2]]) expect(raw.includes(secret), `a secret is in a span: ${secret.slice(0, 12)}...`).toBe(false);
    expect(raw.toLowerCase()).not.toMatch(/"key":"[^"]*(authorization|cookie|password|token)[^"]*"/);
    // ...nor in any log line of the processes.
    const allLogs = logs.join("");
    for (const secret of [password, token, cookie]) expect(allLogs.includes(secret)).toBe(false);

    launcher.kill("SIGTERM");
    expect(await exited).toBe(0);
    await discovery.close();
  }, 180_000);
});
