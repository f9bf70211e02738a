// The shop's browser page: calls the gateway with Connect-Web (Connect protocol, JSON) and renders
// what it answers. The API's origin is fixed when the page is built (buildWeb's apiOrigin, default the
// page's own origin), never read from the page's URL: a crafted link must not redirect passwords.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { GatewayService, type Product, type ProductView } from "../gen/shop/gateway/v1/gateway_pb.ts";

/** Replaced by Vite at build time (web/build.ts): "" means the page's own origin. */
declare const __WEFT_API_ORIGIN__: string;

const apiUrl = __WEFT_API_ORIGIN__ === "" ? location.origin : __WEFT_API_ORIGIN__;
let currentQuery = "";
/** The W3C trace id of the user's current action: every call the action makes continues this trace. */
let actionTraceId = "";

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Starts a new trace for a user action (search, sign-up, buy) and shows its id, to look up in Jaeger. */
function newAction(): void {
  actionTraceId = randomHex(16);
  $("trace").textContent = `trace ${actionTraceId}`;
}

// Each call sends a W3C traceparent (sampled) of the action's trace, with a span id of its own.
const traceparent: Interceptor = (next) => (req) => {
  if (actionTraceId === "") newAction();
  req.header.set("traceparent", `00-${actionTraceId}-${randomHex(8)}-01`);
  return next(req);
};
// The session is an HttpOnly cookie the gateway sets at sign-in: no script here can read it, and the
// browser sends it with every call (also to an allowed API origin of the same site: credentials "include").
const gateway = createClient(GatewayService, createConnectTransport({
  baseUrl: apiUrl,
  interceptors: [traceparent],
  fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: "include" }),
}));

/** What the page shows of a signed-in session across reloads (this tab only): names, never a credential. */
interface StoredSession {
  readonly displayName: string;
  readonly email: string;
}

const SESSION_KEY = "weft.shop.session";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
$("api-url").textContent = apiUrl;

/** Shows a message in a status line; errors carry their Connect code, e.g. `failed_precondition: ...`. */
function show(id: string, state: string, text: string): void {
  const el = $(id);
  el.dataset.state = state;
  el.textContent = text;
}

function describe(err: unknown): string {
  const e = ConnectError.from(err);
  return `${Code[e.code]}: ${e.rawMessage}`;
}

function price(cents: bigint): string {
  return `$${(Number(cents) / 100).toFixed(2)}`;
}

function cell(text: string, className = ""): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderProducts(views: ProductView[]): void {
  const rows = views.map((view) => {
    const product = view.product!;
    const tr = document.createElement("tr");
    tr.dataset.productId = product.id;
    const name = cell("");
    const link = document.createElement("a");
    link.href = `#product-${product.id}`;
    link.textContent = product.name;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      void showDetails(product.id);
    });
    name.append(link);
    tr.append(name, cell(product.category), cell(price(product.priceCents), "num"), cell(String(view.available), "num stock"));
    const buy = document.createElement("button");
    buy.textContent = "Buy 1";
    buy.disabled = view.available === 0n;
    buy.addEventListener("click", () => void checkout(product.id));
    const action = document.createElement("td");
    action.append(buy);
    tr.append(action);
    return tr;
  });
  $("products").replaceChildren(...rows);
}

async function browse(query = currentQuery): Promise<void> {
  currentQuery = query;
  show("status", "loading", "Loading…");
  try {
    const { products } = await gateway.browse({ query, pageSize: 10 });
    renderProducts(products);
    show("status", "ok", `${products.length} products`);
  } catch (err) {
    show("status", "error", describe(err));
  }
}

/** Products this visitor opened, newest first: they seed recommendations before any purchase. */
const viewed: string[] = [];
const MAX_VIEWED = 10;

/** Fills a list of products (recommended, similar), each naming its product. */
function renderProductList(id: string, products: readonly Product[]): void {
  const el = $(id);
  el.replaceChildren(
    ...products.map((product) => {
      const li = document.createElement("li");
      li.dataset.productId = product.id;
      li.textContent = `${product.name} (${product.category}, ${price(product.priceCents)})`;
      li.addEventListener("click", () => void showDetails(product.id));
      return li;
    }),
  );
  el.dataset.state = products.length > 0 ? "shown" : "empty";
}

async function recommend(): Promise<void> {
  try {
    const { products, modelVersion } = await gateway.recommendForMe({ contextProductIds: viewed, limit: 6 });
    renderProductList("recommended", products);
    $("recommended").dataset.modelVersion = String(modelVersion);
  } catch (err) {
    show("recommended", "error", describe(err));
  }
}

/**
 * The checkout attempt whose outcome is unknown (the reply was lost: network error, timeout, outage),
 * by product: buying that product again re-sends its idempotency key, so the gateway answers with the
 * order if it was placed rather than placing a second one.
 */
const unsettledCheckouts = new Map<string, string>();

/** Codes after which a checkout may or may not have placed its order. */
const OUTCOME_UNKNOWN = new Set([Code.Unknown, Code.Unavailable, Code.DeadlineExceeded, Code.Canceled, Code.Internal, Code.Aborted]);

async function checkout(productId: string): Promise<void> {
  newAction();
  const idempotencyKey = unsettledCheckouts.get(productId) ?? randomHex(16);
  unsettledCheckouts.set(productId, idempotencyKey);
  try {
    const { order } = await gateway.checkout({ items: [{ productId, quantity: 1 }], idempotencyKey });
    unsettledCheckouts.delete(productId);
    // Refresh first, so the confirmation is the last thing the status line shows.
    await Promise.all([listOrders(), browse(), recommend()]);
    show("status", "ordered", `Order ${order?.id} placed: ${price(order?.totalCents ?? 0n)}`);
  } catch (err) {
    if (!OUTCOME_UNKNOWN.has(ConnectError.from(err).code)) unsettledCheckouts.delete(productId);
    show("status", "error", describe(err));
  }
}

async function showDetails(id: string): Promise<void> {
  const el = $("details");
  try {
    const { product: view } = await gateway.getProductDetails({ id });
    const product = view!.product!;
    const title = document.createElement("h3");
    title.textContent = product.name;
    const description = document.createElement("p");
    description.textContent = product.description;
    const facts = document.createElement("p");
    facts.textContent = `${product.category} · ${price(product.priceCents)} · ${view!.available} in stock${product.tags.length > 0 ? ` · ${product.tags.join(", ")}` : ""}`;
    el.replaceChildren(title, description, facts);
    el.dataset.state = "shown";
    el.dataset.productId = product.id;
    if (!viewed.includes(id)) {
      viewed.unshift(id);
      viewed.splice(MAX_VIEWED);
    }
    const [{ products: similar }] = await Promise.all([gateway.getSimilarProducts({ id, limit: 5 }), recommend()]);
    renderProductList("similar", similar);
  } catch (err) {
    show("details", "error", describe(err));
  }
}

/** Shows the session as signed in and keeps it for reloads. */
function signedIn(session: StoredSession): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  show("account", "signed-in", `Signed in as ${session.displayName} (${session.email})`);
  $("sign-out").hidden = false;
  void recommend();
  void listOrders().catch((err) => {
    // An expired or revoked session, or a restarted shop: forget it.
    if (ConnectError.from(err).code === Code.Unauthenticated) signedOut("Session expired: sign in again.");
  });
}

function signedOut(message = "Not signed in."): void {
  sessionStorage.removeItem(SESSION_KEY);
  show("account", "signed-out", message);
  $("sign-out").hidden = true;
  $("orders").replaceChildren();
}

async function listOrders(): Promise<void> {
  const { orders } = await gateway.listMyOrders({});
  $("orders").replaceChildren(
    ...orders.map((order) => {
      const li = document.createElement("li");
      li.textContent = `${order.id}: ${order.items.map((i) => `${i.quantity} × ${i.productName}`).join(", ")} (${price(order.totalCents)})`;
      return li;
    }),
  );
}

$<HTMLFormElement>("search").addEventListener("submit", (event) => {
  event.preventDefault();
  newAction();
  const form = new FormData(event.target as HTMLFormElement);
  void browse(String(form.get("query") ?? ""));
});

$<HTMLFormElement>("sign-up").addEventListener("submit", async (event) => {
  event.preventDefault();
  newAction();
  const form = new FormData(event.target as HTMLFormElement);
  try {
    const session = await gateway.signUp({
      email: String(form.get("email")),
      password: String(form.get("password")),
      displayName: String(form.get("displayName")),
    });
    signedIn({ displayName: session.user?.displayName ?? "", email: session.user?.email ?? "" });
  } catch (err) {
    show("account", "error", describe(err));
  }
});

$<HTMLFormElement>("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  try {
    const session = await gateway.signIn({ email: String(form.get("email")), password: String(form.get("password")) });
    signedIn({ displayName: session.user?.displayName ?? "", email: session.user?.email ?? "" });
  } catch (err) {
    show("account", "error", describe(err));
  }
});

// Sign-out ends the session on the server (every replica refuses the cookie from now on), then here.
$("sign-out").addEventListener("click", async () => {
  try {
    await gateway.signOut({});
    signedOut();
  } catch (err) {
    show("account", "error", describe(err));
  }
});

const stored = sessionStorage.getItem(SESSION_KEY);
if (stored !== null) {
  try {
    signedIn(JSON.parse(stored) as StoredSession);
  } catch {
    signedOut();
  }
}

newAction();
void browse();
void recommend();
