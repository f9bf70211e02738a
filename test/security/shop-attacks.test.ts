// The four calls of issue 11, tried against the real shop: `npm start` (one process, one public port)
// and `npm run start:distributed` (a process per service, mutual TLS between them). Each is refused
// before any handler, while a full Checkout through the gateway still works.

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { createWorkloadTls, END_USER_HEADER, meshClientTls, natsInboxPrefix, readNatsAuthenticator } from "../../mesh/security/index.ts";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { loadShopPolicies } from "../../services/shop-security.ts";
import { weft } from "../cli/cli-helpers.ts";
import { deleteEventStreams } from "../support/event-streams.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Spawns `args` from the repository and resolves once `ready` matches its stdout. */
async function spawnUntil(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs: number): Promise<{ child: ChildProcess; output: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (out += c));
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${args.join(" ")} did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out, exit };
}

/** The code a call fails with ("OK" when it succeeds). */
const outcome = (call: Promise<unknown>) => call.then(() => "OK", (e: unknown) => Code[ConnectError.from(e).code]);

/** Signs up through the gateway and checks out one unit; returns the order and the user's headers. */
async function checkoutThroughGateway(gateway: ReturnType<typeof createClient<typeof GatewayService>>) {
  const browse = await gateway.browse({ pageSize: 20 });
  const product = browse.products.find((p) => p.available > 0)!.product!;
  const signUp = await gateway.signUp({ email: `sec-${randomUUID()}@example.com`, password: "correct horse battery", displayName: "S" });
  const headers = { authorization: `Bearer ${signUp.accessToken}` };
  const { order } = await gateway.checkout({ items: [{ productId: product.id, quantity: 1 }] }, { headers });
  expect(order?.userId).toBe(signUp.user?.id);
  const mine = await gateway.listMyOrders({}, { headers });
  expect(mine.orders.map((o) => o.id)).toContain(order!.id);
  return { order: order!, userId: signUp.user!.id };
}

describe("npm start: the public port refuses internal services to anonymous callers", () => {
  it("refuses the four attacks and still serves a checkout", async () => {
    const shop = await spawnUntil(["services/start.ts"], { PORT: "0", WEB: "off", COMPUTE: "inline" }, /SIGTERM drains/, 45_000);
    const url = /Weft shop: (\S+)/.exec(shop.output())![1];
    const transport = createWeftGrpcTransport({ baseUrl: url });
    cleanups.push(() => transport.close());
    const { order, userId } = await checkoutThroughGateway(createClient(GatewayService, transport));
    const orders = createClient(OrderService, transport);
    expect({
      placeOrderForVictim: await outcome(orders.placeOrder({ userId, items: [{ productId: "prod-0001", quantity: 1 }] })),
      restock: await outcome(createClient(InventoryService, transport).restock({ productId: "prod-0001", quantity: 100n })),
      listOrdersOfVictim: await outcome(orders.listOrders({ userId })),
      adminStatus: await outcome(createClient(AdminService, transport).getStatus({})),
      // A forged credential header does not help: it must be signed by the calling workload.
      forgedCredential: await outcome(orders.listOrders({ userId }, { headers: { [END_USER_HEADER]: "e30.e30.AAAA" } })),
    }).toEqual({ placeOrderForVictim: "Unauthenticated", restock: "PermissionDenied", listOrdersOfVictim: "Unauthenticated", adminStatus: "Unauthenticated", forgedCredential: "Unauthenticated" });
    // Connect JSON over HTTP/1.1, as the issue tried it.
    const res = await fetch(`${url}/shop.orders.v1.OrderService/ListOrders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId }) });
    expect(res.status).toBe(401);
    expect(JSON.stringify(await res.json())).not.toContain(order.id);
    shop.child.kill("SIGTERM");
    expect(await shop.exit).toBe(0);
  }, 90_000);
});

describe("start:distributed: internal services accept only mutual TLS and their policies", () => {
  let nc: NatsConnection | undefined;
  cleanups.push(() => nc?.close());

  it("refuses the four attacks, with and without a workload certificate, and still serves a checkout", async () => {
    const run = randomUUID().replaceAll("-", "").slice(0, 8);
    const certs = await mkdtemp(join(tmpdir(), "weft-sec-certs-"));
    cleanups.push(() => rm(certs, { recursive: true, force: true }));
    const prefix = `weft.tsec${run}`;
    cleanups.push(() => deleteEventStreams([`tsec${run}`]));
    const launcher = await spawnUntil(
      ["scripts/start-distributed.ts", "--gateway-port", "0", "--instances", "catalog=1,gateway=1"],
      { WEFT_CERTS_DIR: certs, MESH_REGISTRY_PREFIX: `${prefix}.registry`, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_EVENTS_PREFIX: `tsec${run}`, MESH_HEARTBEAT_MS: "250", COMPUTE: "inline", DATABASE_URL: "" },
      /with mutual TLS/,
      120_000,
    );
    nc = await connect({ servers: "nats://127.0.0.1:4222", noAsyncTraces: true });
    const discovery: NatsDiscovery = createNatsDiscovery({ nc, subjectPrefix: `${prefix}.registry` });
    cleanups.push(() => discovery.close());
    const names = [GatewayService, OrderService, InventoryService].map((s) => s.typeName).concat("shop.catalog.v1.CatalogService", "shop.identity.v1.IdentityService");
    // Five processes start on a shared two-core machine: allow for a slow start.
    await expect.poll(() => names.every((n) => discovery.endpoints(n).length > 0), { timeout: 150_000, interval: 100 }).toBe(true);

    // An anonymous mesh client: the gateway's public port answers, internal ports refuse the handshake.
    const anonymous: MeshClient = createMeshClient({ discovery, retry: false, outlierDetection: false });
    cleanups.push(() => anonymous.close());
    const { userId } = await checkoutThroughGateway(anonymous.client(GatewayService));
    const attacks = (mesh: MeshClient) =>
      Promise.all([
        outcome(mesh.client(OrderService).placeOrder({ userId, items: [{ productId: "prod-0001", quantity: 1 }] })),
        outcome(mesh.client(InventoryService).restock({ productId: "prod-0001", quantity: 100n })),
        outcome(mesh.client(OrderService).listOrders({ userId })),
      ]);
    expect(await attacks(anonymous)).toEqual(["Unavailable", "Unavailable", "Unavailable"]);
    const gatewayAddress = discovery.endpoints(GatewayService.typeName)[0].address;
    const admin = createWeftGrpcTransport({ baseUrl: `http://${gatewayAddress}` });
    cleanups.push(() => admin.close());
    expect(await outcome(createClient(AdminService, admin).getStatus({}))).toBe("Unauthenticated");

    // With a valid workload certificate (catalog's, then even the gateway's), the policies still refuse.
    const policies = await loadShopPolicies();
    const as = async (workload: string) => {
      const tls = await createWorkloadTls({ trustDomain: policies.trustDomain, dir: join(certs, workload) });
      cleanups.push(() => tls.close());
      const expected = (e: { services: readonly string[] }) => policies.serverOf(e.services[0])?.uri;
      const mesh = createMeshClient({ discovery, retry: false, outlierDetection: false, http2: meshClientTls(tls, expected, (e) => e.services.includes(GatewayService.typeName)) });
      cleanups.push(() => mesh.close());
      return mesh;
    };
    expect(await attacks(await as("catalog"))).toEqual(["PermissionDenied", "PermissionDenied", "PermissionDenied"]);
    // The gateway's own identity without a signed end user cannot act for one, nor restock.
    expect(await attacks(await as("gateway"))).toEqual(["Unauthenticated", "PermissionDenied", "Unauthenticated"]);

    // The admin API answers the operators' certificate only (weft, as an operator runs it; the gateway's
    // port is cleartext, the others mutual TLS); another workload's is refused, and so is no certificate.
    const operator = (args: string[], tlsDir?: string) => weft([...args, "--nats", "nats://127.0.0.1:4222", "--registry-prefix", `${prefix}.registry`, ...(tlsDir ? ["--tls-dir", join(certs, tlsDir)] : [])]);
    const ls = await operator(["ls", "--json"], "operator");
    expect(ls.code, ls.stderr).toBe(0);
    expect((JSON.parse(ls.stdout) as unknown[]).length).toBeGreaterThanOrEqual(5);
    const product = await operator(["call", "shop.catalog.v1.CatalogService/GetProduct", '{"id":"prod-0001"}'], "operator");
    expect(product.code, product.stderr).toBe(0);
    expect(JSON.parse(product.stdout)).toMatchObject({ product: { id: "prod-0001" } });
    expect(await operator(["call", "shop.inventory.v1.InventoryService/Restock", '{"productId":"prod-0001","quantity":"1"}'], "operator")).toMatchObject({ code: 1, stdout: expect.stringMatching(/PermissionDenied/) });
    expect(await operator(["ls"], "catalog")).toMatchObject({ code: 3, stderr: expect.stringMatching(/PermissionDenied/) });
    expect((await operator(["ls"])).code).toBe(3);

    launcher.child.kill("SIGTERM");
    // On failure, the launcher's last lines say which process did not drain and why.
    expect(await launcher.exit, launcher.output().slice(-4000)).toBe(0);
  }, 300_000);
});

describe("start:distributed --transport nats: the broker enforces the policies", () => {
  it("serves a checkout over NATS between the services and refuses the attacks at the broker or the policy", async () => {
    const run = randomUUID().replaceAll("-", "").slice(0, 8);
    const certs = await mkdtemp(join(tmpdir(), "weft-sec-nats-"));
    cleanups.push(() => rm(certs, { recursive: true, force: true }));
    const prefix = `weft.tsecn${run}`;
    cleanups.push(() => deleteEventStreams([`tsecn${run}`]));
    const launcher = await spawnUntil(
      ["scripts/start-distributed.ts", "--transport", "nats", "--gateway-port", "0", "--instances", "catalog=1,gateway=1"],
      { WEFT_CERTS_DIR: certs, MESH_REGISTRY_PREFIX: `${prefix}.registry`, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_EVENTS_PREFIX: `tsecn${run}`, MESH_HEARTBEAT_MS: "250", COMPUTE: "inline", DATABASE_URL: "" },
      /with mutual TLS/,
      120_000,
    );
    const natsUrl = /NATS (nats:\/\/\S+) \(started for this run/.exec(launcher.output())![1];
    expect(natsUrl).not.toBe("nats://127.0.0.1:4222");
    // Nobody without a workload's key gets on the mesh's NATS.
    expect(String(await connect({ servers: natsUrl, reconnect: false }).then((c) => c.close().then(() => "connected"), (e: unknown) => e))).toMatch(/authorization/i);

    const as = async (workload: string) => {
      const conn = await connect({ servers: natsUrl, noAsyncTraces: true, authenticator: await readNatsAuthenticator(join(certs, "nats", `${workload}.nk`)), inboxPrefix: natsInboxPrefix(workload) });
      const discovery = createNatsDiscovery({ nc: conn, subjectPrefix: `${prefix}.registry` });
      const mesh = createMeshClient({ discovery, nc: conn, defaultTransport: "nats", natsCaller: workload, natsInboxPrefix: natsInboxPrefix(workload), retry: false, outlierDetection: false });
      cleanups.push(async () => {
        mesh.close();
        await discovery.close();
        await conn.close();
      });
      // Five processes start on a shared two-core machine: allow for a slow start.
      await expect.poll(() => names.every((n) => discovery.endpoints(n).some((e) => e.natsSubject !== "")), { timeout: 150_000, interval: 100 }).toBe(true);
      return { mesh, discovery };
    };
    const names = [GatewayService, OrderService, InventoryService].map((s) => s.typeName).concat("shop.catalog.v1.CatalogService", "shop.identity.v1.IdentityService");
    const gateway = await as("gateway");

    // A browser's checkout: HTTP to the gateway's public port, then NATS between the services.
    const browser = createMeshClient({ discovery: gateway.discovery, retry: false, outlierDetection: false });
    cleanups.push(() => browser.close());
    const { userId } = await checkoutThroughGateway(browser.client(GatewayService));

    const attacks = (mesh: MeshClient) =>
      Promise.all([
        outcome(mesh.client(OrderService).placeOrder({ userId, items: [{ productId: "prod-0001", quantity: 1 }] })),
        outcome(mesh.client(InventoryService).restock({ productId: "prod-0001", quantity: 100n })),
        outcome(mesh.client(OrderService).listOrders({ userId })),
      ]);
    // catalog's user may publish none of these: the broker refuses each request.
    expect(await attacks((await as("catalog")).mesh)).toEqual(["PermissionDenied", "PermissionDenied", "PermissionDenied"]);
    // The gateway's user reaches orders, which wants a signed end user; Restock is refused by the broker.
    expect(await attacks(gateway.mesh)).toEqual(["Unauthenticated", "PermissionDenied", "Unauthenticated"]);

    // weft as an operator on this broker: the operators' NATS user and certificate; without the user, refused.
    const cli = (args: string[], nkey: boolean) => weft([...args, "--nats", natsUrl, "--registry-prefix", `${prefix}.registry`, "--tls-dir", join(certs, "operator"), ...(nkey ? ["--nats-nkey", join(certs, "nats", "operator.nk")] : [])]);
    const ls = await cli(["ls", "--json"], true);
    expect(ls.code, ls.stderr).toBe(0);
    expect((JSON.parse(ls.stdout) as unknown[]).length).toBeGreaterThanOrEqual(5);
    expect(await cli(["ls"], false)).toMatchObject({ code: 3, stderr: expect.stringMatching(/--nats-nkey/) });

    launcher.child.kill("SIGTERM");
    // On failure, the launcher's last lines say which process did not drain and why.
    expect(await launcher.exit, launcher.output().slice(-4000)).toBe(0);
  }, 300_000);
});
