// Plain HTTP on the host's port: requests that are not RPCs (a browser's GET /, its assets) go to one
// handler the host's user gives (`httpFallback`, e.g. `serveStaticFiles(...)`), so a page and its API
// can share an origin. Which requests count as "not an RPC" is decided here, once, for every engine.

import type * as http from "node:http";
import * as http2 from "node:http2";
import { errorFields, type HostLogger } from "./logger.ts";

/** A request the fallback receives: HTTP/1.1, or HTTP/2 through Node's compatibility API. */
export type FallbackRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** The response to a fallback request. */
export type FallbackResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * A plain HTTP handler (as for `http.createServer`) for the host's non-RPC requests. It must answer
 * every request it gets; a thrown error or rejected promise is logged and answered 500.
 */
export type HttpFallback = (req: FallbackRequest, res: FallbackResponse) => void | Promise<void>;

/** How an engine hands non-RPC requests to the host's fallback. */
export interface FallbackRoute {
  /**
   * True when a request goes to the fallback instead of the engine: a GET or HEAD whose path is not a
   * served method and that is not a Connect GET call (no `connect=v1` in the query). Never true for
   * POST, OPTIONS (CORS preflights) or any other method, so engines may skip asking for those.
   */
  matches(method: string, rawPath: string): boolean;
  /** Serves an HTTP/1.1 request. */
  serveHttp1(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Serves an HTTP/2 request given as the raw stream (the compat request/response are built here). */
  serveHttp2Stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[] | undefined): void;
  /** Serves an HTTP/2 request already in compat form. */
  serveHttp2(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void;
}

/** True when `query` (without "?") has the Connect GET marker `connect=v1`. */
function isConnectGet(query: string): boolean {
  for (const part of query.split("&")) if (part === "connect=v1") return true;
  return false;
}

/** Builds the route for `handler`; `rpcPaths` are the served method paths ("/pkg.Service/Method"). */
export function createFallbackRoute(handler: HttpFallback, rpcPaths: ReadonlySet<string>, logger: HostLogger): FallbackRoute {
  const run = (req: FallbackRequest, res: FallbackResponse) => {
    const failed = (err: unknown) => {
      logger.error("http fallback failed", { path: req.url, ...errorFields(err) });
      if (!res.headersSent) {
        // The two response types share writeHead; the cast only merges their overloads.
        (res as http.ServerResponse).writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("internal error\n");
      } else {
        res.destroy();
      }
    };
    try {
      const out = handler(req, res);
      if (out !== undefined && typeof (out as Promise<void>).then === "function") (out as Promise<void>).then(undefined, failed);
    } catch (err) {
      failed(err);
    }
  };
  return {
    matches(method: string, rawPath: string): boolean {
      if (method !== "GET" && method !== "HEAD") return false;
      const q = rawPath.indexOf("?");
      const path = q < 0 ? rawPath : rawPath.slice(0, q);
      if (rpcPaths.has(path)) return false;
      return q < 0 || !isConnectGet(rawPath.slice(q + 1));
    },
    serveHttp1: run,
    serveHttp2: run,
    serveHttp2Stream(stream, headers, rawHeaders) {
      // What node:http2 itself does for a `request` listener (onServerStream), for this request only:
      // the engine serves RPCs from raw streams and never pays for compat objects.
      const req = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders ?? []);
      const res = new http2.Http2ServerResponse(stream);
      run(req, res);
    },
  };
}
