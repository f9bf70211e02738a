// The dashboard in a real browser (Debian's Chromium through playwright-core) against `npm start` under
// a bounded load, served by `weft dash` as an operator runs it: the topology shows every shop service
// and the edges the load uses, an edge's rate rises when the load starts, the gateway -> catalog edge
// turns red when the catalog starts failing the gateway's calls, and the explorer calls a method and
// shows its answer and trace id. Screenshots go to test-artifacts/dashboard/ (git-ignored).

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createWeftConnectTransport } from "../../mesh/transport/index.ts";
import { startShop, weft, type RunningShop } from "../cli/cli-helpers.ts";
import { ARTIFACTS, edgeOf, openBrowser, type RunningDash, startDash, type Drawn, waitForDrawn as waitFor } from "./dash-helpers.ts";

const GATEWAY = "shop.gateway.v1.GatewayService";
const CATALOG = "shop.catalog.v1.CatalogService";
const SHOP_SERVICES = [GATEWAY, CATALOG, "shop.identity.v1.IdentityService", "shop.inventory.v1.InventoryService", "shop.orders.v1.OrderService"];

const token = randomBytes(18).toString("base64url");
let shop: RunningShop;
let dash: RunningDash;
let dashUrl: string;
let browser: Browser;
let page: Page;
/** What the page logged as errors (a CSP refusal shows up here). */
let consoleErrors: string[] = [];

const waitForDrawn = (ok: (d: Drawn) => boolean, what: string) => waitFor(page, ok, what);
const edge = edgeOf;

/** A bounded load through the gateway: `count` calls, one after another. */
async function load(count: number, call: (gateway: ReturnType<typeof createClient<typeof GatewayService>>, i: number) => Promise<unknown>): Promise<void> {
  const transport = createWeftConnectTransport({ baseUrl: shop.url });
  const gateway = createClient(GatewayService, transport);
  try {
    for (let i = 0; i < count; i++) await call(gateway, i).catch(() => undefined);
  } finally {
    transport.close();
  }
}

beforeAll(async () => {
  shop = await startShop(token);
  dash = await startDash(["--url", shop.url], { WEFT_ADMIN_TOKEN: token });
  dashUrl = dash.url;
  ({ browser, page, errors: consoleErrors } = await openBrowser());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dash?.stop();
  await shop?.stop();
});

describe("the dashboard (weft dash) against npm start", () => {
  it("only the printed URL opens the page, and the shop does not serve it", async () => {
    const base = new URL(dashUrl);
    expect((await fetch(`${base.origin}/`)).status).toBe(404);
    expect((await fetch(`${base.origin}/wrong-key/api/weft.mesh.v1.AdminService/GetMeshSnapshot`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(404);
    expect((await fetch(dashUrl)).status).toBe(200);
    const atShop = await fetch(`${shop.url}/`);
    expect(await atShop.text()).not.toContain("Weft mesh");
  });

  it("bad input: a bad --port exits 2, an unreachable mesh or a wrong token exits 3", async () => {
    const badPort = await weft(["dash", "--url", shop.url, "--port", "http"], { WEFT_ADMIN_TOKEN: token });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/--port must be 0\.\.65535/);
    const unreachable = await weft(["dash", "--url", "http://127.0.0.1:9"], { WEFT_ADMIN_TOKEN: token });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach the mesh/);
    const refused = await weft(["dash", "--url", shop.url], { WEFT_ADMIN_TOKEN: "not-the-operator-token" });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refused this CLI/);
  });

  it("topology: every service, the edges the load uses, a rising rate, and an edge that turns red", async () => {
    await page.goto(dashUrl);
    // The latency objective is loosened (a loaded machine's cold first calls are slow): success decides here.
    await page.fill("#slo-p99", "10000");
    await page.dispatchEvent("#slo-p99", "change");
    const idle = await waitForDrawn((d) => SHOP_SERVICES.every((s) => d.nodes.includes(s)), "every shop service");
    const before = edge(idle, GATEWAY, CATALOG)?.rate ?? 0;

    await load(60, (g) => g.browse({ query: "kettle", pageSize: 2 }));
    const busy = await waitForDrawn((d) => (edge(d, GATEWAY, CATALOG)?.rate ?? 0) > before && edge(d, "(outside)", GATEWAY) !== undefined, "the gateway -> catalog edge's rate rising");
    expect(edge(busy, GATEWAY, CATALOG)!.breach).toBe(false);
    expect(edge(busy, GATEWAY, CATALOG)!.success).toBe(1);
    expect(edge(busy, GATEWAY, "shop.inventory.v1.InventoryService")).toBeDefined();
    await page.screenshot({ path: join(ARTIFACTS, "topology.png") });

    // The catalog now fails the gateway's calls (unknown products: NOT_FOUND), beyond the 99% objective.
    await load(20, (g, i) => g.getProductDetails({ id: `prod-missing-${i}` }));
    const red = await waitForDrawn((d) => edge(d, GATEWAY, CATALOG)?.breach === true, "the gateway -> catalog edge in breach");
    expect(edge(red, GATEWAY, CATALOG)!.success).toBeLessThan(0.99);
    // The side panel: the edge's figures and its sparklines (uPlot draws on a canvas).
    await page.click(`#side button[data-edge="${GATEWAY}->${CATALOG}"]`);
    await page.waitForSelector("#side .spark-row canvas", { timeout: 10_000 }).catch(async (err) => {
      throw new Error(`${(err as Error).message}; side panel: ${await page.innerHTML("#side")}; page errors: ${consoleErrors.join(" | ")}`);
    });
    expect(await page.textContent("#side dl")).toContain("breached");
    await page.screenshot({ path: join(ARTIFACTS, "topology-breach.png") });

    // Loosening the objective (the page's setting) clears the breach: the colour follows the objective.
    await page.fill("#slo-success", "50");
    await page.dispatchEvent("#slo-success", "change");
    await waitForDrawn((d) => edge(d, GATEWAY, CATALOG)?.breach === false, "the edge back within a 50% objective");
    await page.fill("#slo-success", "99");
    await page.dispatchEvent("#slo-success", "change");
  }, 60_000);

  it("services and instances list the RED figures and the one instance", async () => {
    // Each test may run first (shuffled order): its own page load and its own calls.
    await page.goto(dashUrl);
    await load(10, (g) => g.browse({ query: "kettle", pageSize: 2 }));
    await page.click("nav button[data-page=services]");
    await page.waitForSelector(`#methods tr[data-method="${GATEWAY}/Browse"]`);
    await page.waitForSelector("#methods .sparkline canvas");
    await page.screenshot({ path: join(ARTIFACTS, "services.png") });
    await page.click("nav button[data-page=instances]");
    const row = page.locator("#instances tbody tr").first();
    await row.waitFor();
    expect(await row.textContent()).toContain("ready");
  });

  it("explorer: finds a method, calls it, shows the answer and the trace id, and copies it as commands", async () => {
    await page.goto(dashUrl);
    await page.click("nav button[data-page=explorer]");
    await page.fill("#method-search", "productdetails");
    await page.click(`#method-list button[data-method="${GATEWAY}/GetProductDetails"]`);
    await page.fill("#request-json", JSON.stringify({ id: "prod-0001" }));
    const sent = page.waitForRequest((r) => r.url().endsWith(`/${GATEWAY}/GetProductDetails`));
    await page.click("#call-button");
    const traceparent = (await sent).headers()["traceparent"];
    await page.waitForSelector("#response[data-state=ok]", { timeout: 10_000 }).catch((err) => {
      throw new Error(`${(err as Error).message}; page errors: ${consoleErrors.join(" | ")}`);
    });
    expect(await page.textContent("#response-body")).toContain('"id": "prod-0001"');
    // The trace id shown is the one the call carried (W3C traceparent: 00-<trace id>-<span id>-01).
    const traceId = await page.textContent("#trace-id");
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceparent).toBe(traceparent?.replace(/^00-[0-9a-f]{32}-/, `00-${traceId}-`));
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(await page.inputValue("#copy-weft")).toContain(`weft call ${GATEWAY}/GetProductDetails '{"id":"prod-0001"}' --url ${shop.url}`);
    expect(await page.inputValue("#copy-buf")).toContain(`${shop.url}/${GATEWAY}/GetProductDetails`);
    await page.screenshot({ path: join(ARTIFACTS, "explorer.png") });

    // The operator's token opens the admin API only: the catalog (internal) still refuses the page.
    await page.fill("#method-search", "CatalogService/GetProduct");
    await page.click(`#method-list button[data-method="${CATALOG}/GetProduct"]`);
    await page.fill("#request-json", JSON.stringify({ id: "prod-0001" }));
    await page.click("#call-button");
    await page.waitForSelector("#response[data-state=error]");
    expect(await page.textContent("#call-status")).toContain("unauthenticated");
  });
});
