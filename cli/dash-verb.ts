// `weft dash`: builds the dashboard (web/dashboard) and serves it on 127.0.0.1 under a random secret
// path, forwarding the page's calls to the mesh with the operator's credentials (its token, or its
// certificate over mutual TLS). The page holds no credential and the shop never serves it: only whoever
// holds the printed URL on this machine sees the mesh.

import { spawn } from "node:child_process";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveStaticFiles } from "../mesh/host/index.ts";
import { adminFailure, CliError, EXIT, type Instance, type Target } from "./target.ts";

/** Options of `weft dash`. */
export interface DashOptions {
  port?: string;
  open?: boolean;
  json?: boolean;
  nats?: string;
  "tls-dir"?: string;
}

/** The admin API's service name: only its calls carry the operator's token. */
const ADMIN_SERVICE = "weft.mesh.v1.AdminService";
/** Header the page sets to pick an instance (explorer.ts); it stops here. */
const INSTANCE_HEADER = "x-weft-dash-instance";
/** Request headers forwarded to the mesh: the Connect protocol's, tracing, and the caller's metadata. */
const DROPPED_REQUEST_HEADERS = new Set(["host", "connection", "keep-alive", "transfer-encoding", "upgrade", "cookie", "origin", "referer", "user-agent", "accept-language", "content-length", INSTANCE_HEADER]);
/** Response headers not passed back (hop-by-hop). */
const DROPPED_RESPONSE_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade"]);

/** What the page may load and call: its own scripts and origin, never framed (the chart libraries set inline styles). */
const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function sameSecret(given: string, key: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Serves the dashboard until `signal` aborts; prints its URL first. */
export async function dash(target: Target, options: DashOptions, signal: AbortSignal, print: (line: string) => void): Promise<void> {
  const port = options.port === undefined ? 0 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0..65535, got ${JSON.stringify(options.port)}`, EXIT.usage);

  // Fail now, not in the browser, when the mesh is unreachable or refuses the operator.
  try {
    await target.admin.getInstance({}, { headers: target.headers, timeoutMs: 10_000, signal });
  } catch (err) {
    throw adminFailure(err, target);
  }
  const outDir = mkdtempSync(join(tmpdir(), "weft-dash-"));
  try {
    const { buildDashboard } = await import("../web/build.ts");
    await buildDashboard(outDir);
  } catch (err) {
    rmSync(outDir, { recursive: true, force: true });
    throw new CliError(`cannot build the dashboard page (web/dashboard): ${(err as Error).message}`, EXIT.callFailed);
  }
  const files = serveStaticFiles({ root: outDir, immutablePrefixes: ["/assets/"] });
  const key = randomBytes(18).toString("base64url");
  const meshUrl = target.instances[0].url;
  const tlsDir = options["tls-dir"] ?? process.env.WEFT_TLS_DIR ?? "";
  const info = JSON.stringify({ meshUrl, weftTarget: (target.nc === undefined ? ` --url ${meshUrl}` : ` --nats ${options.nats ?? process.env.NATS_URL}`) + (tlsDir !== "" ? ` --tls-dir ${tlsDir}` : "") });
  // One agent for every https instance: the operator's certificate, any server the mesh's CA vouches for.
  const tls = target.tls;
  const agent = tls === undefined ? undefined : new https.Agent({ ca: tls.ca, cert: tls.cert, key: tls.key, checkServerIdentity: () => undefined, keepAlive: true });

  const pick = (service: string, wanted: string | undefined): Instance =>
    (wanted ? target.instances.find((i) => i.instanceId === wanted) : undefined) ?? target.instances.find((i) => i.services.includes(service)) ?? target.instances[0];

  function forward(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    const service = path.split("/")[1] ?? "";
    if (req.method !== "POST" || !/^\/[\w.]+\/\w+$/.test(path)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!DROPPED_REQUEST_HEADERS.has(name) && !name.startsWith("sec-") && value !== undefined) headers[name] = value;
    // The operator's token opens the admin API only; other calls carry what the page's metadata says,
    // as with `weft call`.
    if (service === ADMIN_SERVICE) Object.assign(headers, target.headers);
    const wanted = req.headers[INSTANCE_HEADER];
    const instance = pick(service, typeof wanted === "string" ? wanted : undefined);
    const url = new URL(path, instance.url);
    const request = url.protocol === "https:" ? (o: http.RequestOptions, cb: (res: http.IncomingMessage) => void) => https.request(url, { ...o, agent }, cb) : (o: http.RequestOptions, cb: (res: http.IncomingMessage) => void) => http.request(url, o, cb);
    const upstream = request({ method: "POST", headers }, (answer) => {
      const back: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) if (!DROPPED_RESPONSE_HEADERS.has(name) && value !== undefined) back[name] = value;
      back["x-weft-instance"] = instance.instanceId || instance.url;
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ code: "unavailable", message: `the mesh at ${instance.url} did not answer` }));
      else res.destroy();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }

  const server = http.createServer((req, res) => {
    const host = req.headers.host ?? "";
    const address = server.address();
    const bound = typeof address === "object" && address !== null ? address.port : 0;
    // A page elsewhere cannot reach this server through a name it rebinds to 127.0.0.1.
    if (host !== `127.0.0.1:${bound}` && host !== `localhost:${bound}`) {
      res.writeHead(421, { "content-type": "text/plain" }).end("wrong host\n");
      return;
    }
    const url = req.url ?? "/";
    const cut = url.indexOf("/", 1);
    if (cut < 0 || !sameSecret(url.slice(1, cut), key)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const rest = url.slice(cut);
    if (rest.startsWith("/api/")) return forward(req, res, rest.slice(4));
    for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    if (rest === "/info.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(info);
      return;
    }
    req.url = rest;
    void files(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new CliError(`cannot listen on 127.0.0.1:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, EXIT.usage)));
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address() as { port: number };
  const pageUrl = `http://127.0.0.1:${address.port}/${key}/`;
  print(options.json ? JSON.stringify({ url: pageUrl, mesh: target.describe }) : `weft dash: ${pageUrl}\n  the mesh: ${target.describe}\n  (only this URL opens the page; Ctrl-C stops it)`);
  if (options.open) openBrowser(pageUrl);
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    agent?.destroy();
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Opens `url` in the desktop's browser when there is one (nothing happens on a server). */
function openBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(command, [url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined);
  child.unref();
}
