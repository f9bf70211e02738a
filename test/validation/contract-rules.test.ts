// Every protovalidate rule of the shop's contracts (proto/shop/*/v1), refused with the right violation
// (field path + rule id, from the buf.validate.Violations detail) over Connect, gRPC, gRPC-Web (both
// wire engines for gRPC), Connect over NATS and in-process, with the handler never run; a valid
// request of every method reaches it.
// The handlers are stubs behind mesh/validation's withValidation: the rules are what is under test (the
// services' own tests check they opt in).

import { randomUUID } from "node:crypto";
import { hasExtension, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { NO_LOAD, type EndpointSource } from "../../mesh/discovery/index.ts";
import { connectNodeEngine, createHost, silentLogger, type Host } from "../../mesh/host/index.ts";
import { createNatsRpcServer, type NatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";
import { createWeftConnectTransport, createWeftGrpcTransport, createWeftGrpcWebTransport } from "../../mesh/transport/index.ts";
import { withValidation } from "../../mesh/validation/index.ts";
import { natsUrl } from "../support/servers.ts";
import { violationsOf } from "../support/violations.ts";

const SERVICES = [CatalogService, InventoryService, OrderService, IdentityService, GatewayService, RecommendationService] as const;

/** [service, method local name, request, expected violations ([] = valid: the handler answers)]. */
type Case = readonly [DescService, string, Record<string, unknown>, ReadonlyArray<readonly [string, string]>];

const s = (n: number, c = "x") => c.repeat(n);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `p-${i}`);
const item = (productId = "p-1", quantity = 1) => ({ productId, quantity });
const items = (n: number) => Array.from({ length: n }, () => item());

const CASES: readonly Case[] = [
  // catalog
  [CatalogService, "listProducts", { pageSize: 500, pageToken: s(512), category: s(64) }, []],
  [CatalogService, "listProducts", { pageSize: 501 }, [["page_size", "int32.gte_lte"]]],
  [CatalogService, "listProducts", { pageSize: -1 }, [["page_size", "int32.gte_lte"]]],
  [CatalogService, "listProducts", { pageToken: s(513) }, [["page_token", "string.max_len"]]],
  [CatalogService, "listProducts", { category: s(65) }, [["category", "string.max_len"]]],
  [CatalogService, "getProduct", { id: s(64) }, []],
  [CatalogService, "getProduct", { id: "" }, [["id", "string.min_len"]]],
  [CatalogService, "getProduct", { id: s(65) }, [["id", "string.max_len"]]],
  [CatalogService, "batchGetProducts", { ids: ids(100) }, []],
  [CatalogService, "batchGetProducts", { ids: [] }, [["ids", "repeated.min_items"]]],
  [CatalogService, "batchGetProducts", { ids: ids(101) }, [["ids", "repeated.max_items"]]],
  [CatalogService, "batchGetProducts", { ids: ["a", "", s(65)] }, [["ids[1]", "string.min_len"], ["ids[2]", "string.max_len"]]],
  [CatalogService, "searchProducts", { query: " oak ", limit: 100 }, []],
  [CatalogService, "searchProducts", { query: " \u00a0\t" }, [["query", "not_blank"]]],
  [CatalogService, "searchProducts", { query: s(201) }, [["query", "string.max_len"]]],
  [CatalogService, "searchProducts", { query: "oak", limit: 101 }, [["limit", "int32.gte_lte"]]],
  // inventory
  [InventoryService, "getStock", { productIds: ids(100) }, []],
  [InventoryService, "getStock", { productIds: [] }, [["product_ids", "repeated.min_items"]]],
  [InventoryService, "getStock", { productIds: ids(101) }, [["product_ids", "repeated.max_items"]]],
  [InventoryService, "getStock", { productIds: ["", s(129)] }, [["product_ids[0]", "string.min_len"], ["product_ids[1]", "string.max_len"]]],
  [InventoryService, "reserve", { reservationId: s(128), items: [item(s(128), 1000)] }, []],
  [InventoryService, "reserve", { reservationId: "", items: [item()] }, [["reservation_id", "string.min_len"]]],
  [InventoryService, "reserve", { reservationId: s(129), items: [item()] }, [["reservation_id", "string.max_len"]]],
  [InventoryService, "reserve", { reservationId: "r", items: [] }, [["items", "repeated.min_items"]]],
  [InventoryService, "reserve", { reservationId: "r", items: items(101) }, [["items", "repeated.max_items"]]],
  [InventoryService, "reserve", { reservationId: "r", items: [item("p", 0), item("p", 1001), item("", 1)] }, [["items[0].quantity", "int32.gt_lte"], ["items[1].quantity", "int32.gt_lte"], ["items[2].product_id", "string.min_len"]]],
  [InventoryService, "release", { reservationId: "r" }, []],
  [InventoryService, "release", { reservationId: "" }, [["reservation_id", "string.min_len"]]],
  [InventoryService, "restock", { productId: "p", quantity: 1_000_000n }, []],
  [InventoryService, "restock", { productId: "", quantity: 1n }, [["product_id", "string.min_len"]]],
  [InventoryService, "restock", { productId: "p", quantity: 0n }, [["quantity", "int64.gt_lte"]]],
  [InventoryService, "restock", { productId: "p", quantity: 1_000_001n }, [["quantity", "int64.gt_lte"]]],
  // orders
  [OrderService, "placeOrder", { items: [item(s(128), 1000)], idempotencyKey: s(128) }, []],
  [OrderService, "placeOrder", { items: [item()], idempotencyKey: s(129) }, [["idempotency_key", "string.max_len"]]],
  [OrderService, "placeOrder", { items: [] }, [["items", "repeated.min_items"]]],
  [OrderService, "placeOrder", { items: items(101) }, [["items", "repeated.max_items"]]],
  [OrderService, "placeOrder", { items: [item("", 0), item(s(129), -1)] }, [["items[0].product_id", "string.min_len"], ["items[0].quantity", "int32.gt_lte"], ["items[1].product_id", "string.max_len"], ["items[1].quantity", "int32.gt_lte"]]],
  [OrderService, "getOrder", { id: "o" }, []],
  [OrderService, "getOrder", { id: "" }, [["id", "string.min_len"]]],
  [OrderService, "getOrder", { id: s(129) }, [["id", "string.max_len"]]],
  [OrderService, "listOrders", { pageSize: 100 }, []],
  [OrderService, "listOrders", { pageSize: 101 }, [["page_size", "int32.gte_lte"]]],
  [OrderService, "cancelOrder", { id: "o", reason: s(500) }, []],
  [OrderService, "cancelOrder", { id: "", reason: s(501) }, [["id", "string.min_len"], ["reason", "string.max_len"]]],
  // identity
  [IdentityService, "register", { email: "ada@example.com", password: "analytical-engine", displayName: "Ada" }, []],
  [IdentityService, "register", { email: "", password: "analytical-engine", displayName: "Ada" }, [["email", "string.email_empty"]]],
  [IdentityService, "register", { email: "ada@", password: "analytical-engine", displayName: "Ada" }, [["email", "string.email"]]],
  [IdentityService, "register", { email: `${s(64)}@${[s(63), s(63), s(63)].join(".")}.io`, password: "analytical-engine", displayName: "Ada" }, [["email", "string.max_len"]]],
  [IdentityService, "register", { email: "ada@example.com", password: "short", displayName: "Ada" }, [["password", "string.min_len"]]],
  [IdentityService, "register", { email: "ada@example.com", password: s(129), displayName: "Ada" }, [["password", "string.max_len"]]],
  [IdentityService, "register", { email: "ada@example.com", password: s(8, " "), displayName: "Ada" }, [["password", "not_blank"]]],
  [IdentityService, "register", { email: "ada@example.com", password: "analytical-engine", displayName: "\u2003" }, [["display_name", "not_blank"]]],
  [IdentityService, "register", { email: "ada@example.com", password: "analytical-engine", displayName: s(65) }, [["display_name", "string.max_len"]]],
  [IdentityService, "login", { email: "ada@example.com", password: "x" }, []],
  [IdentityService, "login", { email: "", password: "" }, [["email", "string.email_empty"], ["password", "string.min_len"]]],
  [IdentityService, "login", { email: "ada", password: s(129) }, [["email", "string.email"], ["password", "string.max_len"]]],
  [IdentityService, "whoAmI", {}, []],
  // gateway (the browser-facing edge)
  [GatewayService, "browse", { query: s(200), category: s(64), pageSize: 500, pageToken: s(512) }, []],
  [GatewayService, "browse", { query: s(201), category: s(65), pageSize: -1, pageToken: s(513) }, [["query", "string.max_len"], ["category", "string.max_len"], ["page_size", "int32.gte_lte"], ["page_token", "string.max_len"]]],
  [GatewayService, "browse", { pageSize: 501 }, [["page_size", "int32.gte_lte"]]],
  [GatewayService, "getProductDetails", { id: "p" }, []],
  [GatewayService, "getProductDetails", { id: "" }, [["id", "string.min_len"]]],
  [GatewayService, "getProductDetails", { id: s(65) }, [["id", "string.max_len"]]],
  [GatewayService, "signUp", { email: "ada@example.com", password: "analytical-engine", displayName: "Ada" }, []],
  [GatewayService, "signUp", { email: "nope", password: "short", displayName: "" }, [["email", "string.email"], ["password", "string.min_len"], ["display_name", "not_blank"]]],
  [GatewayService, "signUp", { email: `${s(250)}@x.io`, password: s(129, " "), displayName: s(65) }, [["email", "string.max_len"], ["password", "not_blank"], ["password", "string.max_len"], ["display_name", "string.max_len"]]],
  [GatewayService, "signIn", { email: "ada@example.com", password: "x" }, []],
  [GatewayService, "signIn", { email: "", password: "" }, [["email", "string.email_empty"], ["password", "string.min_len"]]],
  [GatewayService, "signIn", { email: "a b@example.com", password: s(129) }, [["email", "string.email"], ["password", "string.max_len"]]],
  [GatewayService, "checkout", { items: [item(s(64), 1000)], idempotencyKey: s(128) }, []],
  [GatewayService, "checkout", { items: [item()], idempotencyKey: s(129) }, [["idempotency_key", "string.max_len"]]],
  [GatewayService, "checkout", { items: [] }, [["items", "repeated.min_items"]]],
  [GatewayService, "checkout", { items: items(101) }, [["items", "repeated.max_items"]]],
  [GatewayService, "checkout", { items: [item("", 0), item(s(65), 1001)] }, [["items[0].product_id", "string.min_len"], ["items[0].quantity", "int32.gt_lte"], ["items[1].product_id", "string.max_len"], ["items[1].quantity", "int32.gt_lte"]]],
  [GatewayService, "listMyOrders", { pageSize: 100 }, []],
  [GatewayService, "listMyOrders", { pageSize: 101 }, [["page_size", "int32.gte_lte"]]],
  [GatewayService, "recommendForMe", { contextProductIds: ids(20), limit: 50 }, []],
  [GatewayService, "recommendForMe", { contextProductIds: ids(21) }, [["context_product_ids", "repeated.max_items"]]],
  [GatewayService, "recommendForMe", { contextProductIds: ["", s(65)], limit: 51 }, [["context_product_ids[0]", "string.min_len"], ["context_product_ids[1]", "string.max_len"], ["limit", "int32.gte_lte"]]],
  [GatewayService, "getSimilarProducts", { id: s(64), limit: 0 }, []],
  [GatewayService, "getSimilarProducts", { id: "", limit: -1 }, [["id", "string.min_len"], ["limit", "int32.gte_lte"]]],
  [GatewayService, "getSimilarProducts", { id: s(65) }, [["id", "string.max_len"]]],
  // recommendations
  [RecommendationService, "recommendForUser", { userId: s(128), limit: 50, contextProductIds: ids(20) }, []],
  [RecommendationService, "recommendForUser", { userId: s(129), limit: 51 }, [["user_id", "string.max_len"], ["limit", "int32.gte_lte"]]],
  [RecommendationService, "recommendForUser", { contextProductIds: [...ids(20), "p"] }, [["context_product_ids", "repeated.max_items"]]],
  [RecommendationService, "recommendForUser", { contextProductIds: ["", s(65)] }, [["context_product_ids[0]", "string.min_len"], ["context_product_ids[1]", "string.max_len"]]],
  [RecommendationService, "similarProducts", { productId: s(64), limit: 50 }, []],
  [RecommendationService, "similarProducts", { productId: "", limit: -1 }, [["product_id", "string.min_len"], ["limit", "int32.gte_lte"]]],
  [RecommendationService, "similarProducts", { productId: s(65) }, [["product_id", "string.max_len"]]],
  [RecommendationService, "boughtTogether", { productIds: ids(50), limit: 50 }, []],
  [RecommendationService, "boughtTogether", { productIds: [] }, [["product_ids", "repeated.min_items"]]],
  [RecommendationService, "boughtTogether", { productIds: ids(51), limit: 51 }, [["product_ids", "repeated.max_items"], ["limit", "int32.gte_lte"]]],
  [RecommendationService, "boughtTogether", { productIds: ["", s(65)] }, [["product_ids[0]", "string.min_len"], ["product_ids[1]", "string.max_len"]]],
  [RecommendationService, "getModelInfo", {}, []],
  [RecommendationService, "retrain", {}, []],
];

/** Stub handlers that count their calls: a refused request must never reach one. */
function stub(service: DescService, calls: Map<string, number>): Record<string, () => object> {
  return Object.fromEntries(service.methods.map((m) => [m.localName, () => (calls.set(m.localName, (calls.get(m.localName) ?? 0) + 1), {})]));
}

/** "field" names under rules in `schema` and the messages its fields hold, as "Message.field". */
function ruledFields(schema: DescMessage, out = new Set<string>(), seen = new Set<string>()): Set<string> {
  if (seen.has(schema.typeName)) return out;
  seen.add(schema.typeName);
  for (const field of schema.fields) {
    if (field.proto.options !== undefined && hasExtension(field.proto.options, fieldRules)) out.add(`${schema.name}.${field.name}`);
    if (field.message !== undefined) ruledFields(field.message, out, seen);
  }
  return out;
}

let host: Host;
let baseUrl: string;
let connectNodeHost: Host;
let connectNodeUrl: string;
let nc: NatsConnection;
let natsServer: NatsRpcServer;
let mesh: MeshClient;
const calls = new Map<string, number>();

beforeAll(async () => {
  const registrations = SERVICES.map((service) => ({ service, impl: withValidation(service, stub(service, calls) as never) }));
  host = createHost({ port: 0, hostname: "127.0.0.1", engine: createWeftEngine(), logger: silentLogger });
  for (const { service, impl } of registrations) host.register(service, impl);
  baseUrl = (await host.listen()).url;
  connectNodeHost = createHost({ port: 0, hostname: "127.0.0.1", engine: connectNodeEngine, logger: silentLogger });
  for (const { service, impl } of registrations) connectNodeHost.register(service, impl);
  connectNodeUrl = (await connectNodeHost.listen()).url;
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  const natsSubject = `weft.t${randomUUID().slice(0, 8)}.rpc.validation`;
  natsServer = createNatsRpcServer({ nc, subject: natsSubject, services: registrations });
  const endpoint = { instanceId: "validation", services: SERVICES.map((s) => s.typeName), address: "", natsSubject, version: "", ready: true, load: NO_LOAD };
  const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
  mesh = createMeshClient({ discovery: source, nc, defaultTransport: "nats", retry: false });
});

afterAll(async () => {
  mesh?.close();
  natsServer?.close();
  await nc?.close();
  await host?.close();
  await connectNodeHost?.close();
});

const TRANSPORTS: ReadonlyArray<readonly [string, () => <S extends DescService>(service: S) => Client<S>]> = [
  ["Connect (HTTP/1.1)", () => { const t = createWeftConnectTransport({ baseUrl, httpVersion: "1.1" }); return (s) => createClient(s, t); }],
  ["gRPC (HTTP/2)", () => { const t = createWeftGrpcTransport({ baseUrl }); return (s) => createClient(s, t); }],
  ["gRPC-Web (HTTP/1.1)", () => { const t = createWeftGrpcWebTransport({ baseUrl, httpVersion: "1.1" }); return (s) => createClient(s, t); }],
  ["gRPC (HTTP/2), connect-node engine", () => { const t = createWeftGrpcTransport({ baseUrl: connectNodeUrl }); return (s) => createClient(s, t); }],
  ["Connect over NATS", () => (s) => mesh.client(s)],
  ["in-process", () => { const t: Transport = host.inProcessTransport(); return (s) => createClient(s, t); }],
];

describe("protovalidate rules of the shop's contracts", () => {
  it("the cases name every field that carries a rule", () => {
    const covered = new Set<string>();
    for (const [service, method, , violations] of CASES) {
      const input = service.method[method].input;
      for (const [path] of violations) {
        const names = path.split(".").map((p) => p.replace(/\[\d+\]$/, ""));
        let schema: DescMessage = input;
        for (const name of names.slice(0, -1)) schema = schema.fields.find((f) => f.name === name)!.message!;
        covered.add(`${schema.name}.${names.at(-1)}`);
      }
    }
    const ruled = new Set(SERVICES.flatMap((s) => s.methods.flatMap((m) => [...ruledFields(m.input)])));
    expect([...ruled].filter((f) => !covered.has(f))).toEqual([]);
  });

  for (const [name, make] of TRANSPORTS) {
    it(`refuses every broken rule with INVALID_ARGUMENT and its violations, and lets valid requests through: ${name}`, async () => {
      const clientOf = make();
      for (const [service, method, request, violations] of CASES) {
        const label = `${service.name}.${method} ${JSON.stringify(request, (_, v) => (typeof v === "bigint" ? String(v) : v)).slice(0, 80)}`;
        const before = calls.get(method) ?? 0;
        const call = (clientOf(service) as unknown as Record<string, (r: unknown) => Promise<unknown>>)[method](request);
        if (violations.length === 0) {
          await call;
          expect(calls.get(method), label).toBe(before + 1);
          continue;
        }
        const err = await call.then(() => undefined, (e: unknown) => ConnectError.from(e));
        expect(err?.code, label).toBe(Code.InvalidArgument);
        expect(violationsOf(err), label).toEqual(violations);
        expect(err?.rawMessage, label).toMatch(new RegExp(`^${violations[0][0].replace(/[[\]]/g, "\\$&")}: .+ \\[${violations[0][1]}\\]`));
        expect(calls.get(method) ?? 0, `${label}: the handler ran`).toBe(before);
      }
    });
  }
});
