import { randomUUID } from "node:crypto";
import type { CatalogService, Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import type { IdentityService, User } from "../../gen/shop/identity/v1/identity_pb.ts";
import { type CallHookContext, requestHeaderValue } from "../../mesh/engine/index.ts";
import type { GetStockResponse, InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import type { Recommendation, RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { MAX_IDS_PER_CALL as STOCK_IDS_PER_CALL } from "../inventory/index.ts";
// Not the identity entry: it would load password hashing (argon2), which the gateway never does.
import { bearerToken, createTokenVerifier, type TokenVerifier } from "../identity/index.ts";
import { isBrowser, isLoopbackUrl, requireConnectMarker, retryLater, sessionCookie, sessionIdOf } from "./browser-edge.ts";
import { createSessionStore, type SessionStore } from "./session-store.ts";
import { createSignInThrottle, type SignInThrottle } from "./sign-in-throttle.ts";
import { type ClientAddressOf, peerAddressOf } from "./client-address.ts";
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
  /** Recommendations ("recommended for you", "similar products"). Default: none (those calls answer UNIMPLEMENTED). */
  readonly recommendations?: Client<typeof RecommendationService>;
  /**
   * Headers that carry the signed-in user to orders (a short-lived credential signed as the gateway);
   * orders takes the user from them, never from the request. Default: none (orders then refuses).
   */
  readonly endUserHeaders?: EndUserHeaders;
  /** Checks API clients' bearer tokens. Default: ES256 against identity's GetPublicKeys, cached. */
  readonly tokens?: TokenVerifier;
  /** Browser sessions. Default: in this process (`createSessionStore({ redis, keyPrefix })` for replicas). */
  readonly sessions?: SessionStore;
  /** Sign-in lockout. Default: in this process (`createSignInThrottle({ redis, keyPrefix })` for replicas). */
  readonly signInThrottle?: SignInThrottle;
  /**
   * True to always name the cookie `__Host-` and mark it Secure. Default false: it is so whenever the
   * browser's page is HTTPS (its `origin`, also behind a TLS-terminating proxy) or the host is loopback
   * (a secure context to browsers); a plain name only for plain HTTP to another host.
   */
  readonly secureCookies?: boolean;
  /** Where a sign-in came from, for its per-address failure count (client-address.ts). Default: the socket's address. */
  readonly clientAddress?: ClientAddressOf;
}

/** Request fields of Browse, SignUp and SignIn: the only ones a downstream INVALID_ARGUMENT may name. */
const BROWSE_FIELDS = ["query", "category", "page_size", "page_token"];
const SIGN_UP_FIELDS = ["email", "password", "display_name"];
const CHECKOUT_FIELDS = ["items", "idempotency_key"];

/** Longest idempotency key, as orders' PlaceOrder accepts it. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/**
 * The checkout attempt's idempotency key: the request field, or the `Idempotency-Key` header (a bare
 * token, or a quoted string as the IETF draft writes it); "" when the client sent neither.
 */
function checkoutKey(field: string, header: Headers): string {
  const raw = header.get("idempotency-key");
  if (raw === null) return field;
  const fromHeader = /^"[^"]*"$/.test(raw.trim()) ? raw.trim().slice(1, -1) : raw.trim();
  if (fromHeader.length === 0 || fromHeader.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidArgument("idempotency_key", `the Idempotency-Key header must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (field !== "" && field !== fromHeader) throw invalidArgument("idempotency_key", "differs from the Idempotency-Key header");
  return fromHeader;
}

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
 * Builds the GatewayService handlers: the browser-facing API. It checks the end user (a browser's
 * session cookie, or an API client's bearer token verified against identity's public keys), limits
 * failed sign-ins, and composes the other services.
 * Downstream errors keep their code.
 */
export function createGatewayService(options: GatewayServiceOptions): ServiceImpl<typeof GatewayService> {
  requireOptions(options, "catalog", "inventory", "identity", "orders");
  const { catalog, inventory, identity, orders } = options;
  const endUser = (userId: string) => options.endUserHeaders?.(userId, OrderService) ?? {};
  const tokens = options.tokens ?? createTokenVerifier({
    jwks: async (signal) => JSON.parse((await identity.getPublicKeys({}, { signal })).jwksJson),
  });
  const sessions = options.sessions ?? createSessionStore();
  const throttle = options.signInThrottle ?? createSignInThrottle();
  const clientAddress = options.clientAddress ?? peerAddressOf;
  const secureCookies = options.secureCookies ?? false;
  const secureFor = (ctx: HandlerContext) => secureCookies || isLoopbackUrl(ctx.url) || (ctx.requestHeader.get("origin") ?? "").startsWith("https://");

  /** The signed-in user's id, from the session cookie (browsers) or the bearer token (API clients); else UNAUTHENTICATED. */
  async function signedInUser(ctx: HandlerContext): Promise<string> {
    const sessionId = sessionIdOf(ctx.requestHeader, secureFor(ctx));
    if (sessionId !== undefined) {
      const userId = await sessions.resolve(sessionId);
      if (userId === undefined) throw new ConnectError("session ended (signed out or expired): sign in again", Code.Unauthenticated);
      return userId;
    }
    if (!ctx.requestHeader.get("authorization")) throw new ConnectError("sign in first: no session cookie or authorization: Bearer <token> header", Code.Unauthenticated);
    return tokens.verify(bearerToken(ctx.requestHeader), ctx.signal);
  }

  /**
   * Answers a successful sign-in or sign-up: a browser gets a new session (any session its cookie named
   * ends: the id rotates at every sign-in) and no token; an API client gets the bearer token.
   */
  async function signedIn(ctx: HandlerContext, accessToken: string, user: User | undefined) {
    if (user === undefined) throw new ConnectError("identity returned no user", Code.Internal);
    if (!isBrowser(ctx)) return { accessToken, user: publicUser(user) };
    const secure = secureFor(ctx);
    const previous = sessionIdOf(ctx.requestHeader, secure);
    if (previous !== undefined) await sessions.revoke(previous);
    const id = await sessions.create(user.id);
    ctx.responseHeader.append("set-cookie", sessionCookie(id, Math.floor(sessions.absoluteMs / 1000), secure));
    return { accessToken: "", user: publicUser(user) };
  }

  /** Pairs products with their available stock: one inventory call per 100 products (its limit), in parallel. */
  async function withStock(products: readonly Product[], ctx: HandlerContext) {
    const batches: Array<Promise<GetStockResponse>> = [];
    for (let i = 0; i < products.length; i += STOCK_IDS_PER_CALL) {
      const productIds = products.slice(i, i + STOCK_IDS_PER_CALL).map((p) => p.id);
      batches.push(relay(inventory.getStock({ productIds }, downstream(ctx)), []));
    }
    // Nearly every call makes one batch: it is awaited as it is, with no Promise.all around it.
    const answers = batches.length === 1 ? [await batches[0]!] : await Promise.all(batches);
    const available = new Map<string, bigint>();
    for (const { levels } of answers) for (const level of levels) available.set(level.productId, level.available);
    return products.map((product) => stockView(product, available.get(product.id)));
  }

  /** Recommendations' service, or UNIMPLEMENTED when this gateway has none. */
  function recommender(): Client<typeof RecommendationService> {
    if (options.recommendations === undefined) throw new ConnectError("recommendations are not available here", Code.Unimplemented);
    return options.recommendations;
  }

  /** The catalogue's products for ranked recommendations, in rank order (one batch call). */
  async function productsOf(ranked: readonly Recommendation[], ctx: HandlerContext) {
    if (ranked.length === 0) return [];
    const { products } = await relay(catalog.batchGetProducts({ ids: ranked.map((r) => r.productId) }, downstream(ctx)), []);
    return products.map(publicProduct);
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
      return signedIn(ctx, session.accessToken, session.user);
    },

    async signIn(req, ctx) {
      // The client's address (the weft engine knows the socket's; in-process and NATS callers have none).
      const address = clientAddress({ peerAddress: (ctx as Partial<CallHookContext>).peerAddress, requestHeader: ctx.requestHeader });
      const waitMs = await throttle.begin(req.email, address);
      if (waitMs > 0) throw retryLater("too many failed sign-ins for this account or address", waitMs);
      let session;
      try {
        session = await relay(identity.login({ email: req.email, password: req.password }, downstream(ctx)), SIGN_UP_FIELDS);
      } catch (err) {
        // Only a wrong password (or unknown email) stays counted; an outage or a malformed request gives the attempt back.
        if (ConnectError.from(err).code !== Code.Unauthenticated) await throttle.abandoned(req.email, address);
        throw err;
      }
      await throttle.succeeded(req.email, address);
      return signedIn(ctx, session.accessToken, session.user);
    },

    async signOut(_req, ctx) {
      const secure = secureFor(ctx);
      const id = sessionIdOf(ctx.requestHeader, secure);
      if (id !== undefined) await sessions.revoke(id);
      ctx.responseHeader.append("set-cookie", sessionCookie("", 0, secure));
      return {};
    },

    async checkout(req, ctx) {
      const userId = await signedInUser(ctx);
      const items = req.items.map(({ productId, quantity }) => ({ productId, quantity }));
      const idempotencyKey = checkoutKey(req.idempotencyKey, ctx.requestHeader);
      const { order } = await relay(orders.placeOrder({ items, idempotencyKey }, downstream(ctx, endUser(userId))), CHECKOUT_FIELDS);
      return { order: publicOrder(order) };
    },

    async listMyOrders(req, ctx) {
      const userId = await signedInUser(ctx);
      const { orders: list } = await relay(orders.listOrders({ pageSize: req.pageSize }, downstream(ctx, endUser(userId))), ["page_size"]);
      return { orders: list.map((order) => publicOrder(order)!) };
    },

    async recommendForMe(req, ctx) {
      // A visitor (no cookie, no token) is welcome: they get answers from what they look at.
      const signedIn = sessionIdOf(ctx.requestHeader, secureFor(ctx)) !== undefined || ctx.requestHeader.get("authorization");
      const userId = signedIn ? await signedInUser(ctx) : "";
      const { recommendations, modelVersion } = await relay(
        recommender().recommendForUser({ userId, contextProductIds: req.contextProductIds, limit: req.limit }, downstream(ctx)),
        ["context_product_ids", "limit"],
      );
      return { products: await productsOf(recommendations, ctx), modelVersion };
    },

    async getSimilarProducts(req, ctx) {
      const { recommendations } = await relay(recommender().similarProducts({ productId: req.id, limit: req.limit }, downstream(ctx)), ["limit"]);
      return { products: await productsOf(recommendations, ctx) };
    },
  }));
}

/** A product's public view and its available stock (0 when inventory knows no level for it). */
function stockView(product: Product, available: bigint | undefined) {
  return { product: publicProduct(product), available: available ?? 0n };
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
      const given = requestHeaderValue(ctx, "x-request-id") ?? "";
      const valid = given.length > 0 && given.length <= MAX_REQUEST_ID_LENGTH && /^[\w.:-]+$/.test(given);
      ctx.responseHeader.set("x-request-id", valid ? given : randomUUID());
      try {
        requireConnectMarker(ctx);
      } catch (err) {
        return Promise.reject(err);
      }
      return handler(req, ctx);
    };
  }
  return wrapped as ServiceImpl<typeof GatewayService>;
}
