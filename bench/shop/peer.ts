// The peer a user would otherwise build for the shop's three calls: fastify at the edge (JSON over
// HTTP/1.1) and @grpc/grpc-js between two small services, catalog and inventory, loaded by
// @grpc/proto-loader from the shop's own .proto files and seeded from the same files as the shop.
// One role per process:
//   node bench/shop/peer.ts catalog <port> | inventory <port> | edge <port> <catalogPort> <inventoryPort>
// The edge verifies ES256 bearer tokens against the public JWK in PEER_PUBLIC_JWK (JSON).

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { writeProtoImports } from "../../scripts/proto-imports.ts";

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));
const protoImports = fileURLToPath(new URL("../../.proto-imports", import.meta.url));

interface Product { id: string; name: string; description: string; category: string; priceCents: number; tags: string[] }
type Callback = grpc.sendUnaryData<unknown>;

function loadShop(): { catalog: grpc.ServiceClientConstructor; inventory: grpc.ServiceClientConstructor } {
  if (!existsSync(`${protoImports}/buf/validate/validate.proto`)) writeProtoImports();
  const definition = protoLoader.loadSync(["shop/catalog/v1/catalog.proto", "shop/inventory/v1/inventory.proto"], { includeDirs: [protoRoot, protoImports], longs: Number, defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as { shop: { catalog: { v1: { CatalogService: grpc.ServiceClientConstructor } }; inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } } };
  return { catalog: root.shop.catalog.v1.CatalogService, inventory: root.shop.inventory.v1.InventoryService };
}

function seed<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as T;
}

async function serve(service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation, port: number): Promise<void> {
  const server = new grpc.Server();
  server.addService(service, impl);
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
}

function catalogImpl(): grpc.UntypedServiceImplementation {
  const products = seed<Product[]>("../../services/catalog/seed/products.json");
  const byId = new Map(products.map((p) => [p.id, p]));
  return {
    ListProducts(call: grpc.ServerUnaryCall<{ pageSize: number; category: string }, unknown>, cb: Callback) {
      const size = call.request.pageSize || 50;
      const list = call.request.category ? products.filter((p) => p.category === call.request.category) : products;
      cb(null, { products: list.slice(0, size), nextPageToken: "", totalSize: list.length });
    },
    GetProduct(call: grpc.ServerUnaryCall<{ id: string }, unknown>, cb: Callback) {
      const product = byId.get(call.request.id);
      if (product === undefined) cb({ code: grpc.status.NOT_FOUND, details: "no such product" });
      else cb(null, { product });
    },
  };
}

function inventoryImpl(): grpc.UntypedServiceImplementation {
  const stock = new Map(Object.entries(seed<Record<string, number>>("../../services/inventory/seed/stock.json")));
  return {
    GetStock(call: grpc.ServerUnaryCall<{ productIds: string[] }, unknown>, cb: Callback) {
      cb(null, { levels: call.request.productIds.map((productId) => ({ productId, available: stock.get(productId) ?? 0 })) });
    },
    Reserve(call: grpc.ServerUnaryCall<{ reservationId: string; items: { productId: string; quantity: number }[] }, unknown>, cb: Callback) {
      const { items, reservationId } = call.request;
      if (items.some((i) => (stock.get(i.productId) ?? 0) < i.quantity)) return cb({ code: grpc.status.FAILED_PRECONDITION, details: "out of stock" });
      for (const i of items) stock.set(i.productId, stock.get(i.productId)! - i.quantity);
      cb(null, { reservationId, levels: items.map((i) => ({ productId: i.productId, available: stock.get(i.productId)! })) });
    },
  };
}

async function edge(port: number, catalogPort: number, inventoryPort: number): Promise<void> {
  const [{ default: Fastify }, jose] = await Promise.all([import("fastify"), import("jose")]);
  const shop = loadShop();
  const catalog = new shop.catalog(`127.0.0.1:${catalogPort}`, grpc.credentials.createInsecure()) as unknown as Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void>;
  const inventory = new shop.inventory(`127.0.0.1:${inventoryPort}`, grpc.credentials.createInsecure()) as unknown as typeof catalog;
  const call = <T>(client: typeof catalog, method: string, req: unknown): Promise<T> => new Promise((resolve, reject) => client[method]!(req, (err, res) => (err ? reject(err) : resolve(res as T))));
  const key = await jose.importJWK(JSON.parse(process.env.PEER_PUBLIC_JWK ?? "{}"), "ES256");
  const withStock = async (products: Product[]) => {
    const { levels } = await call<{ levels: { productId: string; available: number }[] }>(inventory, "GetStock", { productIds: products.map((p) => p.id) });
    const available = new Map(levels.map((l) => [l.productId, l.available]));
    return products.map((product) => ({ product, available: available.get(product.id) ?? 0 }));
  };
  const app = Fastify({ logger: false });
  app.post<{ Body: { pageSize?: number; category?: string } }>("/browse", async (req) => {
    const page = await call<{ products: Product[] }>(catalog, "ListProducts", { pageSize: req.body.pageSize ?? 0, category: req.body.category ?? "" });
    return { products: await withStock(page.products) };
  });
  app.post<{ Body: { id: string } }>("/product", async (req) => {
    const { product } = await call<{ product: Product }>(catalog, "GetProduct", { id: req.body.id });
    const [view] = await withStock([product]);
    return { product: view };
  });
  app.post<{ Body: { items: { productId: string; quantity: number }[] } }>("/checkout", async (req, reply) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    let userId: string;
    try {
      userId = String((await jose.jwtVerify(bearer ?? "", key)).payload.sub);
    } catch {
      return reply.code(401).send({ code: "unauthenticated" });
    }
    const products = await Promise.all(req.body.items.map((i) => call<{ product: Product }>(catalog, "GetProduct", { id: i.productId })));
    const orderId = randomUUID();
    await call(inventory, "Reserve", { reservationId: orderId, items: req.body.items });
    const items = req.body.items.map((i, n) => ({ productId: i.productId, productName: products[n]!.product.name, quantity: i.quantity, unitPriceCents: products[n]!.product.priceCents }));
    return { order: { id: orderId, userId, items, totalCents: items.reduce((t, i) => t + i.quantity * i.unitPriceCents, 0) } };
  });
  await app.listen({ host: "127.0.0.1", port });
}

const [role, port, catalogPort, inventoryPort] = process.argv.slice(2);
const shop = loadShop();
if (role === "catalog") await serve(shop.catalog.service, catalogImpl(), Number(port));
else if (role === "inventory") await serve(shop.inventory.service, inventoryImpl(), Number(port));
else if (role === "edge") await edge(Number(port), Number(catalogPort), Number(inventoryPort));
else {
  console.error("usage: node bench/shop/peer.ts catalog <port> | inventory <port> | edge <port> <catalogPort> <inventoryPort>");
  process.exit(2);
}
console.log(`peer ${role} listening on ${port}`);
