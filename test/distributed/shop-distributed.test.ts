// The shop in distributed mode, started by the launcher: every service a separate process found
// through NATS; a browse, a sign-up and a checkout through the gateway; both catalog instances serve;
// Ctrl-C to the process group under load drains everything with no failed call.

import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery } from "../../mesh/discovery/index.ts";
import { createWorkloadTls, meshClientTls, natsInboxPrefix, readNatsAuthenticator } from "../../mesh/security/index.ts";
import { loadShopPolicies } from "../../services/shop-security.ts";
import { runLoad } from "./fixtures/load.ts";
import { stop, until } from "./fixtures/processes.ts";
import { natsUrl, redisUrl } from "../support/servers.ts";
import { deleteEventStreams } from "../support/event-streams.ts";
import { createTestDatabase, type TestDatabase } from "../support/orders/test-postgres.ts";
import pg from "pg";

const LAUNCHER = new URL("../../scripts/start-distributed.ts", import.meta.url).pathname;
let launcher: ChildProcess | undefined;
let nc: NatsConnection | undefined;
const runs: string[] = [];
const certDirs: string[] = [];
const databases: TestDatabase[] = [];

afterAll(async () => {
  if (launcher !== undefined) await stop(launcher, "SIGKILL");
  for (const database of databases) await database.drop();
  for (const dir of certDirs) await rm(dir, { recursive: true, force: true });
  // Leave the shared servers as found: this run's streams (T<run>_...) and Redis keys (t<run>...).
  if (nc !== undefined) await deleteEventStreams(runs.map((run) => `t${run}`), nc);
  const redis = new Redis(redisUrl(), { lazyConnect: true });
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
  await nc?.close();
});

describe("distributed shop", () => {
  // grpc: stores in Redis, so every service runs 2 instances; nats: in-memory stores, one instance each.
  for (const transport of ["grpc", "nats"] as const) it(`starts N processes per service, serves a checkout end to end (services call over ${transport}), and drains on Ctrl-C to its process group`, async () => {
    const run = randomUUID().replaceAll("-", "").slice(0, 8);
    runs.push(run);
    const prefix = `weft.t${run}.registry`;
    const withRedis = transport === "grpc";
    // The launcher runs mutual TLS with development credentials made here on first use (and NATS users).
    const certs = await mkdtemp(join(tmpdir(), "weft-shop-certs-"));
    certDirs.push(certs);
    // Orders replicas share a PostgreSQL database (the launcher's default is the shared `weft` one; this run's own here).
    const database = await createTestDatabase("dist");
    databases.push(database);
    const instances = withRedis ? "catalog=2,gateway=1,identity=2,inventory=2,orders=2,recommendations=1" : "catalog=2,gateway=1,identity=1,inventory=1,orders=1,recommendations=1";
    // Its own process group, as a terminal runs it: the test's Ctrl-C goes to the whole group.
    launcher = spawn(process.execPath, [LAUNCHER, "--instances", instances, "--gateway-port", "0", "--transport", transport], {
      env: {
        ...process.env,
        WEFT_CERTS_DIR: certs,
        MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: `weft.t${run}.rpc`, MESH_EVENTS_PREFIX: `t${run}`, MESH_HEARTBEAT_MS: "250", COMPUTE: "inline",
        DATABASE_URL: database.url,
        ...(withRedis ? { REDIS_URL: redisUrl() } : {}),
      },
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    const output: string[] = [];
    let buffered = "";
    launcher.stdout!.on("data", (c: Buffer) => {
      buffered += c.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      output.push(...lines);
    });
    const exited = new Promise<number | null>((r) => launcher!.on("exit", (code) => r(code)));

    nc ??= await connect({ servers: natsUrl(), noAsyncTraces: true });
    // Over NATS the launcher starts a nats-server of its own, configured from the policies: this test
    // joins it as the gateway's NATS user.
    let own: NatsConnection | undefined;
    if (transport === "nats") {
      await until(() => output.some((l) => /NATS nats:\S+ \(started for this run/.test(l)), 60_000, "the mesh's nats-server");
      const url = /NATS (nats:\S+) \(started/.exec(output.find((l) => /NATS nats:\S+ \(started/.test(l))!)![1];
      own = await connect({ servers: url, noAsyncTraces: true, authenticator: await readNatsAuthenticator(join(certs, "nats", "gateway.nk")), inboxPrefix: natsInboxPrefix("gateway") });
    }
    const discovery = createNatsDiscovery({ nc: own ?? nc, subjectPrefix: prefix });
    await discovery.ready();
    const names = ["shop.catalog.v1.CatalogService", "shop.inventory.v1.InventoryService", "shop.identity.v1.IdentityService", "shop.orders.v1.OrderService", "shop.gateway.v1.GatewayService"];
    await until(() => names.every((n) => discovery.endpoints(n).length > 0) && discovery.endpoints(names[0]).length === 2, 120_000, "all services up");

    const mesh = createMeshClient({ discovery });
    const gateway = mesh.client(GatewayService);
    const browse = await gateway.browse({ query: "kettle", pageSize: 3 });
    expect(browse.products.length).toBeGreaterThan(0);
    const product = browse.products.find((p) => p.available > 0)!.product!;
    const signUp = await gateway.signUp({ email: `u${run}@example.com`, password: "correct horse battery", displayName: "T" });
    const headers = { authorization: `Bearer ${signUp.accessToken}` };
    const checkout = await gateway.checkout({ items: [{ productId: product.id, quantity: 1 }] }, { headers });
    expect(checkout.order?.totalCents).toBe(product.priceCents);
    // The order is in PostgreSQL, and its OrderPlaced went out through the outbox.
    expect(output).toContainEqual(expect.stringContaining(`orders in PostgreSQL (${database.url})`));
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      expect((await sql.query("SELECT id FROM orders")).rows).toEqual([{ id: checkout.order!.id }]);
      await expect.poll(async () => (await sql.query("SELECT 1 FROM outbox WHERE sent_at IS NOT NULL AND id = $1", [`order-placed:${checkout.order!.id}`])).rowCount, { timeout: 15_000 }).toBe(1);
    } finally {
      await sql.end();
    }
    // Several reads, so that with replicas they land on different orders/identity instances.
    for (let i = 0; i < 6; i++) {
      const mine = await gateway.listMyOrders({}, { headers });
      expect(mine.orders.map((o) => o.id)).toContain(checkout.order!.id);
    }

    // Both catalog instances serve: counted among the catalog's own endpoints, not every service's. Under
    // mTLS the catalog answers only workloads its policy names: this client calls it as the gateway.
    const catalogIds = discovery.endpoints(CatalogService.typeName).map((e) => e.instanceId);
    expect(catalogIds).toHaveLength(2);
    const policies = await loadShopPolicies();
    const gatewayTls = transport === "grpc" ? await createWorkloadTls({ trustDomain: policies.trustDomain, dir: join(certs, "gateway") }) : undefined;
    // Round robin: the question is whether both instances answer, not the balancer's preference (P2C
    // with peak EWMA can keep away from an instance whose first call was a slow cold one for the whole load).
    const balancer = { policy: "round-robin" } as const;
    const asGateway = gatewayTls === undefined
      ? createMeshClient({ discovery, nc: own, defaultTransport: "nats", natsCaller: "gateway", natsInboxPrefix: natsInboxPrefix("gateway"), balancer })
      : createMeshClient({ discovery, balancer, http2: meshClientTls(gatewayTls, (e) => policies.serverOf(e.services[0])?.uri, (e) => e.services.includes(GatewayService.typeName)) });
    const catalog = asGateway.client(CatalogService);
    const result = await runLoad(400, 4, async () => {
      await catalog.getProduct({ id: product.id });
      return "ok";
    }, { maxMs: 20_000 });
    expect(result.failed).toBe(0);
    const servingCatalogs = asGateway.stats().endpoints.filter((e) => catalogIds.includes(e.instanceId) && e.attempts > 0);
    expect(servingCatalogs.map((e) => e.instanceId).sort()).toEqual([...catalogIds].sort());

    // Ctrl-C to the whole process group while calls are in flight: every call already made succeeds,
    // every process drains (logs "drained", exits 0) and the launcher exits 0.
    let signalled = false;
    let inFlight = 0;
    let inFlightAtSignal = 0;
    const load = runLoad(100_000, 8, async () => {
      inFlight++;
      try {
        await gateway.browse({ query: "kettle", pageSize: 3 });
        return "ok";
      } finally {
        inFlight--;
      }
    }, { maxMs: 30_000, until: () => signalled });
    await until(() => inFlight >= 4, 5000, "calls in flight");
    inFlightAtSignal = inFlight;
    process.kill(-launcher.pid!, "SIGINT");
    signalled = true;
    const underDrain = await load;
    expect(inFlightAtSignal).toBeGreaterThan(0);
    expect(underDrain.failed, JSON.stringify(underDrain.messages)).toBe(0);
    expect(await exited).toBe(0);
    const children = instances.split(",").reduce((n, part) => n + Number(part.split("=")[1]), 0);
    expect(output.filter((l) => l.includes('"message":"drained"'))).toHaveLength(children);
    expect(output.filter((l) => l.includes("second signal"))).toEqual([]);
    expect(output).toContain(`all ${children} processes drained`);
    await until(() => names.every((n) => discovery.endpoints(n).length === 0), 15_000, "all left");
    launcher = undefined;
    mesh.close();
    asGateway.close();
    gatewayTls?.close();
    await discovery.close();
    await own?.close();
  }, 300_000); // nine processes start on two shared cores
});
