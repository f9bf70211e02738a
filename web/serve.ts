/**
 * A tiny static file server for the built page (web/dist). It serves GET/HEAD of files under `dir`
 * only (no directory listing, no path escapes) and is meant for a laptop or a test, not production.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, sep } from "node:path";

/** Options of {@link serveWeb}. */
export interface ServeWebOptions {
  /** Folder to serve (e.g. what `buildWeb()` returned). Required. */
  readonly dir: string;
  /** Address to bind. Default "127.0.0.1". */
  readonly hostname?: string;
  /** Port; 0 picks a free one. Default 0. */
  readonly port?: number;
}

/** A running static server. */
export interface WebServer {
  /** Base URL, e.g. "http://127.0.0.1:8081". */
  readonly url: string;
  /** The origin browsers send as `Origin` from pages served here (same as `url`). */
  readonly origin: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

/** Serves `options.dir` over HTTP/1.1. */
export async function serveWeb(options: ServeWebOptions): Promise<WebServer> {
  if (!options?.dir) throw new TypeError("options.dir is required");
  const root = normalize(options.dir + sep);
  const server: Server = createServer(async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = normalize(join(root, pathname.endsWith("/") ? `${pathname}index.html` : pathname));
    if (!file.startsWith(root)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error("not a file");
      res.writeHead(200, {
        "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": info.size,
        "cache-control": "no-cache",
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  const hostname = options.hostname ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, hostname, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  return {
    url,
    origin: url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
