// A real browser: headless Debian Chromium loads the storefront page from one origin and calls the
// gateway on another (so CORS preflights and headers are exercised) with Connect-Web; and loads the
// page the shop serves itself (same origin, no `?api=`), as `npm start` offers it.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createHost, serveStaticFiles, silentLogger } from "../../mesh/host/index.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { buildWeb } from "../../web/build.ts";
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
async function servePage(dir: string): Promise<WebServer> {
  const host = createHost({ port: 0, logger: silentLogger, httpFallback: serveStaticFiles({ root: dir }) });
  const { url } = await host.listen();
  return { url, origin: new URL(url).origin, close: () => host.close() };
}

let outDir: string;
let web: WebServer;
let strangerWeb: WebServer;
let shop: InProcessShop;
let browser: Browser;
let gateway: ReturnType<typeof createClient<typeof GatewayService>>;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium; .ci/run does this) or set CHROMIUM_PATH`);
  }
  outDir = await mkdtemp(join(tmpdir(), "weft-web-"));
  await buildWeb(outDir);
  web = await servePage(outDir);
  strangerWeb = await servePage(outDir);
  // Only the first page origin may call the API from a browser; the shop also serves the page itself.
  shop = await startTestShop({
    corsAllowedOrigins: [web.origin],
    httpFallback: serveStaticFiles({ root: outDir, immutablePrefixes: ["/assets/"] }),
  });
  gateway = createClient(GatewayService, createConnectTransport({ baseUrl: shop.url, httpVersion: "1.1" }));
  // playwright gives every launch a fresh, temporary user-data-dir (it refuses a --user-data-dir argument).
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await shop?.close();
  await web?.close();
  await strangerWeb?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function openStorefront(from: WebServer): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${from.url}/?api=${shop.url}`);
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

/** Signs up through the page's form and waits until it shows the account signed in. */
async function signUp(page: Page, email: string, password: string, displayName: string): Promise<void> {
  await page.fill('#sign-up input[name="email"]', email);
  await page.fill('#sign-up input[name="password"]', password);
  await page.fill('#sign-up input[name="displayName"]', displayName);
  await page.click("#sign-up button");
  await page.waitForSelector('#account[data-state="signed-in"]', { timeout: 15_000 });
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

  it("searches, signs up and buys through Connect-Web with a bearer token (CORS preflight)", async () => {
    const page = await openStorefront(web);
    await page.waitForSelector('#status[data-state="ok"]', { timeout: 15_000 });
    await page.fill('#search input[name="query"]', "oak kettle");
    await page.click("#search button");
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#products tr")).every((tr) => tr.textContent?.toLowerCase().includes("kettle")));
    const [first] = await rows(page);
    expect(first.name?.toLowerCase()).toContain("kettle");

    const email = uniqueEmail("browser");
    await signUp(page, email, "browser-pass-1", "Browser");
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

    const email = uniqueEmail("same-origin");
    await signUp(page, email, "browser-pass-2", "Same Origin");
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
    const email = uniqueEmail("reload");
    await signUp(page, email, "browser-pass-3", "Reloader");

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
});
