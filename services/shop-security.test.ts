// The shop's policy files compile against the generated descriptors (a typo in a service, method or
// caller name fails here), and say what the shop needs and no more.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { compilePolicies, issueNatsUser, natsPermissions, natsServerConfig, PolicyError, readPolicyFiles } from "../mesh/security/index.ts";
import { SHOP_SERVICES } from "./manifest.ts";
import { SHOP_DESCRIPTORS } from "./shop-descriptors.ts";
import { loadShopPolicies, shopPolicyFiles } from "./shop-security.ts";

describe("the shop's policies", () => {
  it("compile, one per service and the operators'", async () => {
    const table = await loadShopPolicies();
    expect([...table.workloads.keys()].sort()).toEqual(["catalog", "gateway", "identity", "inventory", "operator", "orders", "recommendations"]);
    expect(shopPolicyFiles()).toHaveLength(7);
    // Only the operators read the admin API; behind the public gateway they call nothing but the catalog's reads.
    expect([...table.adminReaders]).toEqual(["spiffe://weft.local/svc/operator"]);
    expect(table.callableBy("operator").filter((p) => !p.startsWith("/shop.gateway.")).sort()).toEqual(["/shop.catalog.v1.CatalogService/GetProduct", "/shop.catalog.v1.CatalogService/ListProducts", "/shop.catalog.v1.CatalogService/SearchProducts"]);
    expect(table.isPublic("gateway")).toBe(true);
    expect(["catalog", "identity", "inventory", "orders", "recommendations"].some((w) => table.isPublic(w))).toBe(false);
    expect(table.callableBy("orders").sort()).toEqual([
      "/shop.catalog.v1.CatalogService/BatchGetProducts",
      "/shop.gateway.v1.GatewayService/Browse",
      "/shop.gateway.v1.GatewayService/Checkout",
      "/shop.gateway.v1.GatewayService/GetProductDetails",
      "/shop.gateway.v1.GatewayService/GetSimilarProducts",
      "/shop.gateway.v1.GatewayService/ListMyOrders",
      "/shop.gateway.v1.GatewayService/RecommendForMe",
      "/shop.gateway.v1.GatewayService/SignIn",
      "/shop.gateway.v1.GatewayService/SignOut",
      "/shop.gateway.v1.GatewayService/SignUp",
      "/shop.inventory.v1.InventoryService/Release",
      "/shop.inventory.v1.InventoryService/Reserve",
    ]);
    expect(table.rules("/shop.inventory.v1.InventoryService/Restock")?.allow).toEqual([]);
  });

  it("agree with the manifest: who serves what, and which services are public", async () => {
    const table = await loadShopPolicies();
    for (const service of SHOP_SERVICES) {
      expect(table.isPublic(service.name), service.name).toBe(service.exposure === "public");
      for (const proto of service.protoServices) expect(table.serverOf(proto)?.service, proto).toBe(service.name);
    }
  });

  // A distributed process compiles only its own workload's rules, against its own descriptors.
  it("compiled for one workload, enforce the same rules on its methods, deny every other method, and agree on the rest", async () => {
    const full = await loadShopPolicies();
    for (const service of SHOP_SERVICES) {
      const own = SHOP_DESCRIPTORS.filter((d) => service.protoServices.includes(d.typeName));
      const table = await loadShopPolicies(undefined, { workload: service.name, services: own });
      for (const descriptor of SHOP_DESCRIPTORS) {
        for (const method of descriptor.methods) {
          const path = `/${descriptor.typeName}/${method.name}`;
          expect(table.rules(path), `${service.name}: ${path}`).toEqual(own.includes(descriptor) ? full.rules(path) : undefined);
        }
        expect(table.serverOf(descriptor.typeName), descriptor.typeName).toEqual(full.serverOf(descriptor.typeName));
      }
      expect([...table.workloads]).toEqual([...full.workloads]);
      expect([...table.adminReaders]).toEqual([...full.adminReaders]);
      for (const workload of full.workloads.keys()) expect(table.isPublic(workload), workload).toBe(full.isPublic(workload));
    }
    await expect(loadShopPolicies(undefined, { workload: "nobody", services: [] })).rejects.toThrow(/rulesOf: no policy for workload "nobody"/);
  });

  it("fail to compile when a file names a method that does not exist", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-policy-"));
    try {
      const files = shopPolicyFiles();
      const copies = await Promise.all(files.map(async (file, i) => {
        const copy = join(dir, `${i}.json`);
        await writeFile(copy, (await readFile(file, "utf8")).replace("InventoryService/Reserve", "InventoryService/Reserv"));
        return copy;
      }));
      const documents = await readPolicyFiles(copies);
      expect(() => compilePolicies(documents, { trustDomain: "weft.local", services: SHOP_DESCRIPTORS })).toThrow(PolicyError);
      expect(() => compilePolicies(documents, { trustDomain: "weft.local", services: SHOP_DESCRIPTORS })).toThrow(/unknown method "shop.inventory.v1.InventoryService\/Reserv"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the shop's NATS permissions", () => {
  it("let each workload publish only the methods its policies allow, as itself, and read only its own subjects", async () => {
    const table = await loadShopPolicies();
    const orders = natsPermissions(table, "orders");
    const rpc = orders.publish.filter((s) => s.startsWith("weft.rpc."));
    expect(rpc).toContain("weft.rpc.inventory.*.orders.shop.inventory.v1.InventoryService.Reserve");
    expect(rpc).toContain("weft.rpc.catalog.*.orders.shop.catalog.v1.CatalogService.BatchGetProducts");
    // Every RPC subject names orders as the caller; none is a wildcard past the instance token.
    expect(rpc.every((s) => s.split(".")[4] === "orders" && !s.includes(">"))).toBe(true);
    expect(rpc.some((s) => s.includes("Restock") || s.includes("GetStock"))).toBe(false);
    expect(orders.subscribe).toEqual(["weft.rpc.orders.>", "_INBOX.orders.>", "weft.registry.>"]);
    // orders answers only the gateway (its one caller); inventory answers the gateway and orders.
    expect(orders.publish.filter((s) => s.startsWith("_INBOX."))).toEqual(["_INBOX.gateway.>"]);
    expect(natsPermissions(table, "inventory").publish.filter((s) => s.startsWith("_INBOX.")).sort()).toEqual(["_INBOX.gateway.>", "_INBOX.orders.>"]);
  });

  it("make a configuration nats-server accepts", async () => {
    const table = await loadShopPolicies();
    const users = new Map([...table.workloads.keys()].map((w) => [w, issueNatsUser().publicKey]));
    const dir = await mkdtemp(join(tmpdir(), "weft-nats-conf-"));
    try {
      const file = join(dir, "nats-server.conf");
      await writeFile(file, natsServerConfig({ table, users, port: 4999 }));
      expect(execFileSync("nats-server", ["-c", file, "-t"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })).toBe("");
      expect(() => natsServerConfig({ table, users: new Map([...users].slice(1)), port: 4999 })).toThrow(/no public user nkey/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
