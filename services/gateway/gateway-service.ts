import { randomUUID } from "node:crypto";
import type { CatalogService, Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import type { IdentityService, User } from "../../gen/shop/identity/v1/identity_pb.ts";
import type { GetStockResponse, InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { MAX_IDS_PER_CALL as STOCK_IDS_PER_CALL } from "../inventory/index.ts";
import { downstream, invalidArgument, pageSizeOrDefault, requireOptions } from "../shared/index.ts";
import { relayAtEdge as relay } from "./edge-errors.ts";
import { publicOrder, publicProduct, publicUser } from "./public-views.ts";
import type { EndUserHeaders } from "../shop-security.ts";
import { withValidation } from "../../mesh/validation/index.ts";

/** Options of {@link createGatewayService}: a client of every service the edge composes. */
export interface GatewayServiceOptions {
  readonly catalog: Client<typeof CatalogService>;
  readonly inventory: Client<typeof InventoryService>;
  readonly identity: Client<typeof IdentityService>;
  readonly orders: Client<typeof OrderService>;
  /**
   * Headers that carry the signed-in user to orders (a short-lived credential signed as the gateway);
   * orders takes the user from them, never from the request. Default: none (orders then refuses).
   */
  readonly endUserHeaders?: EndUserHeaders;
}

/** Request fields of Browse, SignUp and SignIn: the only ones a downstream INVALID_ARGUMENT may name. */
const BROWSE_FIELDS = ["query", "category", "page_size", "page_token"];
const SIGN_UP_FIELDS = ["email", "password", "display_name"];

/**
 * The gateway's read limit (host option methodReadMaxBytes): its largest request, a Checkout of 100
 * items, is ~6 KB of JSON, so 16 KiB leaves room and a stranger's body costs little to refuse.
 */
export const GATEWAY_READ_LIMITS: Readonly<Record<string, number>> = Object.freeze({ [GatewayService.typeName]: 16 * 1024 });

/** Browse with a query: default number of results when page_size is 0. */
export const BROWSE_SEARCH_DEFAULT_LIMIT = 20;
/** Browse with a query: most results. */
export const BROWSE_SEARCH_MAX_LIMIT = 100;

/**
 * Builds the GatewayService handlers: the browser-facing API. It holds no state; it checks the end
 * user's token with identity (forwarding their `authorization` header) and composes the other services.
 * Downstream errors keep their code.
 */
export function createGatewayService(options: GatewayServiceOptions): ServiceImpl<typeof GatewayService> {
  requireOptions(options, "catalog", "inventory", "identity", "orders");
  const { catalog, inventory, identity, orders } = options;
  const endUser = (userId: string) => options.endUserHeaders?.(userId, OrderService) ?? {};

  /** The signed-in user, or UNAUTHENTICATED (without calling identity when there is no token at all). */
  async function signedInUser(ctx: HandlerContext): Promise<User> {
    const authorization = ctx.requestHeader.get("authorization");
    if (!authorization) throw new ConnectError("sign in first: missing authorization: Bearer <token> header", Code.Unauthenticated);
    const { user } = await relay(identity.whoAmI({}, downstream(ctx, { authorization })), []);
    if (!user) throw new ConnectError("identity returned no user", Code.Internal);
    return user;
  }

  /** Pairs products with their available stock: one inventory call per 100 products (its limit), in parallel. */
  async function withStock(products: readonly Product[], ctx: HandlerContext) {
    const batches: Array<Promise<GetStockResponse>> = [];
    for (let i = 0; i < products.length; i += STOCK_IDS_PER_CALL) {
      const productIds = products.slice(i, i + STOCK_IDS_PER_CALL).map((p) => p.id);
      batches.push(relay(inventory.getStock({ productIds }, downstream(ctx)), []));
    }
    const available = new Map<string, bigint>();
    for (const { levels } of await Promise.all(batches)) for (const level of levels) available.set(level.productId, level.available);
    return products.map((product) => ({ product: publicProduct(product), available: available.get(product.id) ?? 0n }));
  }

  // Field bounds are the contract's rules, checked at the edge before a handler runs.
  return withRequestId(withValidation(GatewayService, {
    async browse(req, ctx) {
      if (req.query.trim() !== "") {
        if (req.pageToken !== "") throw invalidArgument("page_token", "is not supported together with query");
        const limit = pageSizeOrDefault(req.pageSize, "page_size", BROWSE_SEARCH_DEFAULT_LIMIT, BROWSE_SEARCH_MAX_LIMIT);
        const { products } = await relay(catalog.searchProducts({ query: req.query, limit }, downstream(ctx)), BROWSE_FIELDS);
        const inCategory = req.category === "" ? products : products.filter((p) => p.category === req.category);
        return { products: await withStock(inCategory, ctx), nextPageToken: "" };
      }
      const page = await relay(
        catalog.listProducts({ category: req.category, pageSize: req.pageSize, pageToken: req.pageToken }, downstream(ctx)),
        BROWSE_FIELDS,
      );
      return { products: await withStock(page.products, ctx), nextPageToken: page.nextPageToken };
    },

    async getProductDetails(req, ctx) {
      const { product } = await relay(catalog.getProduct({ id: req.id }, downstream(ctx)), ["id"]);
      if (!product) throw new ConnectError("catalog returned no product", Code.Internal);
      const [view] = await withStock([product], ctx);
      return { product: view };
    },

    async signUp(req, ctx) {
      // Register signs the new user in: one password hash per sign-up, for a new or a taken email alike.
      const session = await relay(identity.register({ email: req.email, password: req.password, displayName: req.displayName }, downstream(ctx)), SIGN_UP_FIELDS);
      return { accessToken: session.accessToken, user: publicUser(session.user) };
    },

    async signIn(req, ctx) {
      const session = await relay(identity.login({ email: req.email, password: req.password }, downstream(ctx)), SIGN_UP_FIELDS);
      return { accessToken: session.accessToken, user: publicUser(session.user) };
    },

    async checkout(req, ctx) {
      const user = await signedInUser(ctx);
      const items = req.items.map(({ productId, quantity }) => ({ productId, quantity }));
      const { order } = await relay(orders.placeOrder({ items }, downstream(ctx, endUser(user.id))), ["items"]);
      return { order: publicOrder(order) };
    },

    async listMyOrders(req, ctx) {
      const user = await signedInUser(ctx);
      const { orders: list } = await relay(orders.listOrders({ pageSize: req.pageSize }, downstream(ctx, endUser(user.id))), ["page_size"]);
      return { orders: list.map((order) => publicOrder(order)!) };
    },
  }));
}

/** Longest caller-chosen request id echoed back; longer or odd ones are replaced. */
const MAX_REQUEST_ID_LENGTH = 128;

/**
 * Every gateway response carries an `x-request-id` header: the caller's own (when it is a short token
 * of safe characters), or a fresh UUID, so a browser or support ticket can name one call.
 */
function withRequestId(impl: ServiceImpl<typeof GatewayService>): ServiceImpl<typeof GatewayService> {
  const wrapped: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(impl) as Array<[string, (req: unknown, ctx: HandlerContext) => unknown]>) {
    wrapped[name] = (req: unknown, ctx: HandlerContext) => {
      const given = ctx.requestHeader.get("x-request-id") ?? "";
      const valid = given.length > 0 && given.length <= MAX_REQUEST_ID_LENGTH && /^[\w.:-]+$/.test(given);
      ctx.responseHeader.set("x-request-id", valid ? given : randomUUID());
      return handler(req, ctx);
    };
  }
  return wrapped as ServiceImpl<typeof GatewayService>;
}
