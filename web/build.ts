/**
 * Builds the browser page (web/index.html + main.ts, with Connect-Web and the generated gateway
 * client) into static files with Vite, which vitest already brings. Run: node web/build.ts [outDir]
 * (default web/dist). `buildWeb()` is what `npm start` and the browser test call.
 */
import { fileURLToPath } from "node:url";
import { build } from "vite";

/** Where the page's sources live. */
export const WEB_ROOT = fileURLToPath(new URL(".", import.meta.url));
/** Default output folder (git-ignored). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL("./dist", import.meta.url));

/** The module the generated gateway code imports the buf/validate descriptor from. */
const VALIDATE_PB = "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** Options of {@link buildWeb}. */
export interface BuildWebOptions {
  /**
   * Origin of the API the page calls (e.g. "https://api.example.com"), fixed at build time. Default:
   * the page's own origin. The built page never takes its API address from its URL: a link cannot
   * send what a user types to another host.
   */
  readonly apiOrigin?: string;
}

/** Builds the page into `outDir` (emptied first) and returns it. */
export async function buildWeb(outDir: string = DEFAULT_OUT_DIR, options: BuildWebOptions = {}): Promise<string> {
  const apiOrigin = options.apiOrigin === undefined ? "" : webOrigin(options.apiOrigin, "options.apiOrigin");
  await build({
    root: WEB_ROOT,
    base: "./",
    logLevel: "warn",
    configFile: false,
    define: { __WEFT_API_ORIGIN__: JSON.stringify(apiOrigin) },
    // The gateway's validation rules are the server's business: the page gets an empty stand-in for
    // the rule schema its messages import (validation-rules-stand-in.ts) instead of the package's.
    resolve: { alias: [{ find: VALIDATE_PB, replacement: fileURLToPath(new URL("./validation-rules-stand-in.ts", import.meta.url)) }] },
    build: { outDir, emptyOutDir: true, target: "es2022", sourcemap: false },
  });
  return outDir;
}

/** The origin of an http(s) URL given with no path, query or credentials; throws naming `field` otherwise. */
export function webOrigin(url: string, field: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${field} must be an http(s) origin such as https://shop.example.com`);
  }
  const bare = parsed.pathname === "/" && parsed.search === "" && parsed.hash === "" && parsed.username === "" && parsed.password === "";
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || !bare) {
    throw new TypeError(`${field} must be an http(s) origin such as https://shop.example.com`);
  }
  return parsed.origin;
}

/** Where the operators' dashboard's sources live (served by `weft dash`, never by the shop). */
export const DASHBOARD_ROOT = fileURLToPath(new URL("./dashboard/", import.meta.url));

/**
 * Builds the operators' dashboard (web/dashboard: topology, services, instances, explorer, events) into
 * `outDir` (emptied first). Its heavy libraries (cytoscape, uPlot) become chunks loaded on first use.
 */
export async function buildDashboard(outDir: string): Promise<string> {
  await build({
    root: DASHBOARD_ROOT,
    base: "./",
    logLevel: "warn",
    configFile: false,
    build: { outDir, emptyOutDir: true, target: "es2022", sourcemap: false, chunkSizeWarningLimit: 1500 },
  });
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] === "--dashboard" ? await buildDashboard(process.argv[3] ?? "web/dashboard/dist") : await buildWeb(process.argv[2]);
  console.log(`built the web page into ${outDir}`);
}
