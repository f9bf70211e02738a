// Connect over NATS under the security model, against a real nats-server of our own started with the
// configuration generated from the shop's policies (scripts/mesh-nats.ts): each workload connects as its
// own nkey user, the broker carries only the requests the policies allow (with the caller's own name
// in the subject), nobody reads another workload's inbox, and the caller identity a handler sees is the
// one the broker verified, never a header the caller wrote.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { connect, PermissionViolationError, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { NO_LOAD, type Endpoint, type EndpointSource } from "../../mesh/discovery/index.ts";
import { createNatsRpcServer, type NatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import {
  INSECURE_END_USER_HEADER,
  issueDevelopmentCredentials,
  natsInboxPrefix,
  natsInstanceSubject,
  peerIdentityOf,
  readNatsAuthenticator,
  requireEndUser,
  type AuthorizationTable,
} from "../../mesh/security/index.ts";
import { createShopAuthorization, gatewayEndUserHeaders, loadShopPolicies } from "../../services/shop-security.ts";
import { startMeshNats, type MeshNats } from "../../scripts/mesh-nats.ts";

const RPC = "weft.rpc";
/** A request envelope (docs/protocol.md): version 1, no flags, call id 1, an empty GetStockRequest. */
const UNARY_GET_STOCK = new Uint8Array([1, 0, 1]);
let table: AuthorizationTable;
let nats: MeshNats;
let seeds: string;
const connections: NatsConnection[] = [];
const servers: NatsRpcServer[] = [];
const clients: MeshClient[] = [];
/** Every handler run: method, the caller identity it saw, the end user if any. */
const served: string[] = [];
const credentials = issueDevelopmentCredentials({ trustDomain: "weft.local", services: ["catalog", "gateway", "identity", "inventory", "orders"] });

/** A NATS connection as `workload`'s user, replies in its own inbox. */
async function connectAs(workload: string): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url, noAsyncTraces: true, authenticator: await readNatsAuthenticator(nats.seedFile(workload)), inboxPrefix: natsInboxPrefix(workload) });
  connections.push(nc);
  return nc;
}

const endpoints: Endpoint[] = [];
const source: EndpointSource = { endpoints: (s) => endpoints.filter((e) => e.services.includes(s)), subscribe: () => () => {}, ready: async () => {}, close: async () => {} };

/** A mesh client of `workload` calling over NATS, with `caller` as the token it claims (its own name unless spoofing). */
async function meshAs(workload: string, caller = workload): Promise<MeshClient> {
  const mesh = createMeshClient({ discovery: source, nc: await connectAs(workload), defaultTransport: "nats", natsCaller: caller, natsInboxPrefix: natsInboxPrefix(workload), retry: false, outlierDetection: false });
  clients.push(mesh);
  return mesh;
}

/** Starts `workload`'s instance serving `service` over NATS with the shop's authorization hooks. */
async function serve(workload: string, service: typeof InventoryService | typeof OrderService, impl: object): Promise<void> {
  const nc = await connectAs(workload);
  const subject = natsInstanceSubject(RPC, workload, `${workload}-1`);
  const authorization = createShopAuthorization({ table, credentials: () => credentials.workloads.get(workload)! });
  servers.push(createNatsRpcServer({
    nc, subject, services: [{ service, impl: impl as never }], callHooks: [authorization.hooks],
    verifiedCallers: { identityOf: (c) => table.workloads.get(c)?.uri, inboxPrefixOf: natsInboxPrefix },
  }));
  endpoints.push({ instanceId: `${workload}-1`, services: [service.typeName], address: "", natsSubject: subject, version: "", ready: true, load: NO_LOAD });
}

const record = (method: string) => (_req: unknown, ctx: HandlerContext) => {
  served.push(`${method} ${peerIdentityOf(ctx) ?? "anonymous"}`);
  return {};
};

beforeAll(async () => {
  table = await loadShopPolicies();
  seeds = await mkdtemp(join(tmpdir(), "weft-nats-seeds-"));
  nats = await startMeshNats({ table, credentialsDir: seeds });
  await serve("inventory", InventoryService, { getStock: record("GetStock"), reserve: record("Reserve"), restock: record("Restock"), release: record("Release") });
  await serve("orders", OrderService, {
    listOrders: (_req: unknown, ctx: HandlerContext) => {
      served.push(`ListOrders ${peerIdentityOf(ctx)} user=${requireEndUser(ctx).userId}`);
      return {};
    },
  });
}, 30_000);

afterAll(async () => {
  for (const m of clients) m.close();
  for (const s of servers) s.close();
  for (const nc of connections) await nc.close().catch(() => undefined);
  await nats?.stop();
  if (seeds !== undefined) await rm(seeds, { recursive: true, force: true });
});

/** The code a call fails with ("OK" when it succeeds). */
const outcome = (call: Promise<unknown>) => call.then(() => "OK", (e: unknown) => Code[ConnectError.from(e).code]);

describe("Connect over NATS with permissions generated from the policies", () => {
  it("serves an allowed call, with the caller identity the broker verified", async () => {
    const gateway = await meshAs("gateway");
    served.length = 0;
    expect(await outcome(gateway.client(InventoryService).getStock({ productIds: ["prod-0001"] }))).toBe("OK");
    expect(served).toEqual(["GetStock spiffe://weft.local/svc/gateway"]);
    const orders = await meshAs("orders");
    expect(await outcome(orders.client(InventoryService).reserve({ reservationId: "o-1", items: [] }))).toBe("OK");
    expect(served).toEqual(["GetStock spiffe://weft.local/svc/gateway", "Reserve spiffe://weft.local/svc/orders"]);
  });

  it("a publish the policies do not allow is refused by the broker: PERMISSION_DENIED, the handler never runs", async () => {
    served.length = 0;
    const gateway = await meshAs("gateway");
    const catalog = await meshAs("catalog");
    expect({
      gatewayReserves: await outcome(gateway.client(InventoryService).reserve({ reservationId: "o-2", items: [] })),
      catalogReadsStock: await outcome(catalog.client(InventoryService).getStock({ productIds: [] })),
      // DENY before ALLOW reaches the broker too: no user may publish Restock.
      gatewayRestocks: await outcome(gateway.client(InventoryService).restock({ productId: "prod-0001", quantity: 100n })),
      ordersRestocks: await outcome((await meshAs("orders")).client(InventoryService).restock({ productId: "prod-0001", quantity: 100n })),
    }).toEqual({ gatewayReserves: "PermissionDenied", catalogReadsStock: "PermissionDenied", gatewayRestocks: "PermissionDenied", ordersRestocks: "PermissionDenied" });
    expect(served).toEqual([]);
  });

  it("a caller that claims another workload's name in the subject is refused by the broker", async () => {
    served.length = 0;
    // catalog's user, calling as "orders" (who may Reserve) and as "gateway" (who may GetStock).
    expect(await outcome((await meshAs("catalog", "orders")).client(InventoryService).reserve({ reservationId: "o-3", items: [] }))).toBe("PermissionDenied");
    expect(await outcome((await meshAs("catalog", "gateway")).client(InventoryService).getStock({ productIds: [] }))).toBe("PermissionDenied");
    expect(served).toEqual([]);
  });

  it("ignores identity headers the caller wrote: the handler sees the broker-verified caller, the end user needs a signed credential", async () => {
    served.length = 0;
    const gateway = await meshAs("gateway");
    const spoofed = { "x-spiffe-id": "spiffe://weft.local/svc/orders", "x-forwarded-client-cert": "URI=spiffe://weft.local/svc/orders", [INSECURE_END_USER_HEADER]: "victim" };
    expect(await outcome(gateway.client(InventoryService).getStock({ productIds: [] }, { headers: spoofed }))).toBe("OK");
    expect(served).toEqual(["GetStock spiffe://weft.local/svc/gateway"]);
    // orders needs an end user signed by the calling workload; a plain header naming one is not it.
    const orders = gateway.client(OrderService);
    expect(await outcome(orders.listOrders({ userId: "victim" }, { headers: spoofed }))).toBe("Unauthenticated");
    // The real gateway's signed credential works, and the user is the credential's, not the body's.
    const signed = gatewayEndUserHeaders(table, () => credentials.workloads.get("gateway")!)("alice", OrderService);
    expect(await outcome(orders.listOrders({ userId: "victim" }, { headers: signed }))).toBe("OK");
    // The same credential from another workload's connection (replayed) is refused.
    const replay = (await meshAs("catalog")).client(OrderService);
    expect(await outcome(replay.listOrders({ userId: "victim" }, { headers: signed }))).toBe("PermissionDenied");
    expect(served).toEqual(["GetStock spiffe://weft.local/svc/gateway", "ListOrders spiffe://weft.local/svc/gateway user=alice"]);
  });

  it("another workload's inbox and instance subjects cannot be read: the broker refuses the subscription", async () => {
    const catalog = await connectAs("catalog");
    const refused = async (subject: string) => {
      const sub = catalog.subscribe(subject);
      const closed = await sub.closed;
      return closed instanceof PermissionViolationError ? `refused ${closed.operation}` : "subscribed";
    };
    expect(await refused(`${natsInboxPrefix("gateway")}.>`)).toBe("refused subscription");
    expect(await refused("_INBOX.>")).toBe("refused subscription");
    expect(await refused(`${RPC}.inventory.>`)).toBe("refused subscription");
    expect(await refused(">")).toBe("refused subscription");
    // Its own inbox is fine.
    const own = catalog.subscribe(`${natsInboxPrefix("catalog")}.probe`);
    await catalog.flush();
    expect(own.isClosed()).toBe(false);
    own.unsubscribe();
  });

  it("a request whose reply subject is another workload's inbox is dropped before the handler", async () => {
    served.length = 0;
    const gateway = await connectAs("gateway");
    const ordersInbox = await connectAs("orders");
    const delivered: string[] = [];
    const sub = ordersInbox.subscribe(`${natsInboxPrefix("orders")}.>`, { callback: (_e, m) => void delivered.push(m.subject) });
    await ordersInbox.flush();
    // The broker lets the gateway publish GetStock, and replies to orders' inbox (inventory answers orders).
    gateway.publish(`${natsInstanceSubject(RPC, "inventory", "inventory-1")}.gateway.${InventoryService.typeName}.GetStock`, UNARY_GET_STOCK, { reply: `${natsInboxPrefix("orders")}.7` });
    await gateway.flush();
    // A request published after it from the same connection is answered: the first one was seen and dropped.
    expect(await outcome((await meshAs("gateway")).client(InventoryService).getStock({ productIds: [] }))).toBe("OK");
    expect(served).toEqual(["GetStock spiffe://weft.local/svc/gateway"]);
    expect(delivered).toEqual([]);
    sub.unsubscribe();
  });

  it("a connection without a workload's key is refused", async () => {
    const err = await connect({ servers: nats.url, noAsyncTraces: true, reconnect: false }).then((nc) => nc.close().then(() => undefined), (e: unknown) => e);
    expect(String(err)).toMatch(/authorization/i);
  });
});
