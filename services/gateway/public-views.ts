import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { OrderSchema, OrderStatus, ProductSchema, UserSchema } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import type { User } from "../../gen/shop/identity/v1/identity_pb.ts";
import type { Order } from "../../gen/shop/orders/v1/orders_pb.ts";

/**
 * Copies of internal messages into the gateway's own (shop.gateway.v1), field by field: the public API
 * never carries an internal type, so the browser needs none of the internal contracts.
 */
export function publicProduct(product: Product): MessageInitShape<typeof ProductSchema> {
  const { id, name, description, category, priceCents, tags } = product;
  return { id, name, description, category, priceCents, tags };
}

/** The public view of an identity user. */
export function publicUser(user: User | undefined): MessageInitShape<typeof UserSchema> | undefined {
  if (user === undefined) return undefined;
  const { id, email, displayName, createdAt } = user;
  return { id, email, displayName, createdAt };
}

/** The public view of an order (the enums share their numbers). */
export function publicOrder(order: Order | undefined): MessageInitShape<typeof OrderSchema> | undefined {
  if (order === undefined) return undefined;
  const { id, userId, totalCents, status, createdAt } = order;
  const items = order.items.map(({ productId, productName, quantity, unitPriceCents }) => ({ productId, productName, quantity, unitPriceCents }));
  return { id, userId, items, totalCents, status: status as number as OrderStatus, createdAt };
}
