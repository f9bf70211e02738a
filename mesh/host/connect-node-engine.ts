// The reference wire engine: connect-node's adapter on the HTTP/1.1 server and the HTTP/2 compat API.

import type * as http from "node:http";
import type * as http2 from "node:http2";
import { isPreflight, type EngineAttachment, type EngineContext, type EngineServers, type WireEngine, callHooksInterceptor, gateInterceptors, errorFields, respondUnimplemented } from "../engine/index.ts";
import { applyConnectNodeFixes } from "./connect-node-fixes.ts";

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

function attach(servers: EngineServers, context: EngineContext): EngineAttachment {
  const { limits, cors, logger } = context;
  // connect-node is loaded when this engine is attached, so a host on Weft's own engine never loads it.
  let adapter: ((req: AnyRequest, res: AnyResponse) => void) | undefined;
  const loading = import("@connectrpc/connect-node").then(({ connectNodeAdapter }) => { adapter = connectNodeAdapter({
    routes(router) {
      for (const { service, impl } of context.services) router.service(service, impl);
    },
    // connect-node cannot report when a call ends, so the host's gate runs as interceptors here.
    interceptors: [...gateInterceptors(context.calls), ...(context.hooks === undefined ? [] : [callHooksInterceptor(context.hooks)]), ...context.interceptors],
    // Explicit limits: connect's own defaults are ~4 GiB and no timeout cap.
    readMaxBytes: limits.readMaxBytes,
    writeMaxBytes: limits.writeMaxBytes,
    maxTimeoutMs: limits.maxTimeoutMs === 0 ? undefined : limits.maxTimeoutMs,
    shutdownSignal: context.shutdownSignal,
    requireConnectProtocolHeader: false,
    fallback: (req, res) => respondUnimplemented(req, res as AnyResponse),
  }); });
  const { fallback } = context;
  const onRequest = (req: AnyRequest, response: AnyResponse) => {
    if (fallback !== undefined && req.method !== "POST" && fallback.matches(req.method ?? "GET", req.url ?? "/")) {
      if (req.httpVersionMajor === 2) fallback.serveHttp2(req as http2.Http2ServerRequest, response as http2.Http2ServerResponse);
      else fallback.serveHttp1(req as http.IncomingMessage, response as http.ServerResponse);
      return;
    }
    // The two response types share the methods used here; the cast only merges their overloads.
    const res = response as http.ServerResponse;
    const origin = req.headers.origin;
    if (isPreflight(req.method, origin, req.headers["access-control-request-method"])) {
      const answer = cors.preflight(
        origin as string,
        req.headers["access-control-request-method"] as string,
        req.headers["access-control-request-headers"] as string | undefined,
      );
      res.writeHead(answer.status, answer.headers);
      res.end();
      return;
    }
    if (origin !== undefined && cors.enabled) {
      const headers = cors.responseHeaders(origin);
      for (const name in headers) res.setHeader(name, headers[name]);
    }
    applyConnectNodeFixes(req.headers["content-type"], res);
    if (adapter === undefined) {
      loading.then(() => serve(req, response), (err: unknown) => {
        logger.error("wire engine failed to load", errorFields(err));
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    serve(req, response);
  };
  const serve = (req: AnyRequest, response: AnyResponse) => {
    const res = response as http.ServerResponse;
    try {
      adapter!(req, response);
    } catch (err) {
      // connect-node answers every call itself; this only guards against a bug taking the process down.
      logger.error("wire engine failed", errorFields(err));
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };
  servers.http1.on("request", onRequest);
  servers.http2.on("request", onRequest);
  return {
    detach() {
      servers.http1.removeListener("request", onRequest);
      servers.http2.removeListener("request", onRequest);
    },
  };
}

/**
 * connect-node's adapter as a Weft wire engine: the reference for wire behaviour and a baseline in
 * bench/ (the host's default is Weft's own engine, mesh/protocol `createWeftEngine()`).
 */
export const connectNodeEngine: WireEngine = Object.freeze({ name: "connect-node", attach });
