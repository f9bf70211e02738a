// connect-web in headless Chromium against Weft's engine: the page is served from the engine's origin
// (intercepted by Playwright), so the RPCs are same-origin calls over real HTTP/1.1.

import * as path from "node:path";
import { rolldown } from "rolldown";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWeft } from "./servers.ts";
import type { RunningServer } from "./servers.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

type Result = { transport: string; name: string; ok: boolean; detail: string };

describe("connect-web in headless Chromium -> Weft", () => {
  let server: RunningServer;
  let browser: Browser;
  let results: Result[] = [];

  beforeAll(async () => {
    server = await startWeft();
    const bundle = await rolldown({ input: path.join(import.meta.dirname, "browser-entry.ts"), platform: "browser", logLevel: "silent" });
    const { output } = await bundle.generate({ format: "iife" });
    await bundle.close();
    const script = output[0].code;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const page = await browser.newPage();
    await page.route(`${server.url}/index.html`, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: `<!doctype html><script>${script.replace(/<\/script/g, "<\\/script")}</script>` }));
    await page.goto(`${server.url}/index.html`);
    results = await page.evaluate(async (base) => (globalThis as any).weftInterop.runAll(base), server.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("ran every case for every transport", () => {
    expect(results.length).toBe(4 * 6);
  });

  it.each(["connect-web Connect JSON", "connect-web Connect proto", "connect-web Connect GET", "connect-web gRPC-Web"])("%s: all cases pass", (transport) => {
    const mine = results.filter((r) => r.transport === transport);
    expect(mine.filter((r) => !r.ok)).toEqual([]);
    expect(mine.length).toBe(6);
  });
});
