// The generated descriptors of every shop service, for what checks every policy against them: the
// launcher, `npm start` and the tests. A distributed process loads only its own (shop-security.ts).

import type { DescService } from "@bufbuild/protobuf";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../gen/shop/orders/v1/orders_pb.ts";
import { RecommendationService } from "../gen/shop/recommendations/v1/recommendations_pb.ts";

/** Every Protobuf service the shop's policies may name (the generated descriptors). */
export const SHOP_DESCRIPTORS: readonly DescService[] = [CatalogService, GatewayService, IdentityService, InventoryService, OrderService, RecommendationService];
