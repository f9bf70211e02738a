// The one list of the shop's services. The in-process shop, the distributed launcher
// (scripts/start-distributed.ts), the start banner and the deploy test (test/deploy/manifests.test.ts)
// read it; adding a service starts here (docs/shop.md, "Adding a service").

/** One service of the shop. */
export interface ServiceManifestEntry {
  /** Its folder under services/ and its name in the launcher, compose and Kubernetes. */
  readonly name: string;
  /** Fully-qualified names of the Protobuf services it serves, e.g. "shop.catalog.v1.CatalogService". */
  readonly protoServices: readonly string[];
  /** Its distributed entry point, from the repository root. */
  readonly main: string;
  /** Instances `npm run start:distributed` starts unless told otherwise. */
  readonly defaultInstances: number;
  /** "public": browsers and tools call it on a fixed port; "internal": only other services call it. */
  readonly exposure: "public" | "internal";
  /**
   * For a public service: the launcher's environment variable of its first instance's port (further
   * instances take the next ports; flag `--<name>-port`), and that port's default.
   */
  readonly port?: { readonly env: string; readonly default: number };
  /** Keeps state in the process unless REDIS_URL is set, so more than one instance would split it. */
  readonly statefulWithoutRedis: boolean;
}

/** The shop's services, in start order (callees before their callers). */
export const SHOP_SERVICES: readonly ServiceManifestEntry[] = [
  {
    name: "catalog",
    protoServices: ["shop.catalog.v1.CatalogService"],
    main: "services/catalog/main.ts",
    defaultInstances: 2,
    exposure: "internal",
    statefulWithoutRedis: false,
  },
  {
    name: "inventory",
    protoServices: ["shop.inventory.v1.InventoryService"],
    main: "services/inventory/main.ts",
    defaultInstances: 1,
    exposure: "internal",
    statefulWithoutRedis: true,
  },
  {
    name: "identity",
    protoServices: ["shop.identity.v1.IdentityService"],
    main: "services/identity/main.ts",
    defaultInstances: 1,
    exposure: "internal",
    statefulWithoutRedis: true,
  },
  {
    name: "orders",
    protoServices: ["shop.orders.v1.OrderService"],
    main: "services/orders/main.ts",
    defaultInstances: 1,
    exposure: "internal",
    statefulWithoutRedis: true,
  },
  {
    name: "recommendations",
    protoServices: ["shop.recommendations.v1.RecommendationService"],
    main: "services/recommendations/main.ts",
    defaultInstances: 1,
    exposure: "internal",
    statefulWithoutRedis: true,
  },
  {
    name: "gateway",
    protoServices: ["shop.gateway.v1.GatewayService"],
    main: "services/gateway/main.ts",
    defaultInstances: 2,
    exposure: "public",
    port: { env: "GATEWAY_PORT", default: 8080 },
    statefulWithoutRedis: false,
  },
];

/** The Protobuf services of the whole shop, in manifest order. */
export function shopProtoServices(): string[] {
  return SHOP_SERVICES.flatMap((s) => s.protoServices);
}

/** "catalog, inventory, identity, orders, recommendations and gateway": the services named for people. */
export function describeShopServices(): string {
  const names = SHOP_SERVICES.map((s) => s.name);
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}
