// The host's built-in `/metrics` (Prometheus text) on its own port, served through the plain-HTTP
// fallback route so that RPCs never pay for it; other non-RPC requests go on to the user's fallback.

import type { ServerResponse } from "node:http";
import { errorFields, type HostLogger, type HttpFallback } from "../engine/index.ts";

/** What the host serves at `/metrics` (mesh/telemetry's `createMetrics()` is one). */
export interface MetricsSource {
  /** Content type of the text, e.g. "text/plain; version=0.0.4; charset=utf-8". */
  readonly contentType: string;
  /** The exposition text. */
  render(): Promise<string>;
}

/** The path Prometheus scrapes. */
export const METRICS_PATH = "/metrics";

/** True when a request target (path and query) is /metrics. */
export function isMetricsPath(rawPath: string): boolean {
  const q = rawPath.indexOf("?");
  return (q < 0 ? rawPath : rawPath.slice(0, q)) === METRICS_PATH;
}

/** A fallback serving `source` at /metrics, and everything else through `next` (404 when there is none). */
export function withMetricsRoute(source: MetricsSource, next: HttpFallback | undefined, logger: HostLogger): HttpFallback {
  return (req, res) => {
    if (!isMetricsPath(req.url ?? "/")) {
      if (next !== undefined) return next(req, res);
      // The two response types share writeHead; the cast only merges their overloads.
      (res as ServerResponse).writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
      return;
    }
    return source.render().then(
      (text) => {
        (res as ServerResponse).writeHead(200, { "content-type": source.contentType, "cache-control": "no-store" });
        if (req.method === "HEAD") res.end();
        else res.end(text);
      },
      (err: unknown) => {
        logger.error("metrics rendering failed", errorFields(err));
        (res as ServerResponse).writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("internal error\n");
      },
    );
  };
}
