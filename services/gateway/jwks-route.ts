import type { ServerResponse } from "node:http";
import { respondUnimplemented } from "../../mesh/engine/index.ts";
import type { HttpFallback } from "../../mesh/host/index.ts";
import type { TokenVerifier } from "../identity/token-verifier.ts";

/** Where the gateway publishes the public keys of access tokens (RFC 8615 well-known URI). */
export const JWKS_PATH = "/.well-known/jwks.json";

/** How long a client may cache the key set, in seconds (a rotation keeps the old key published longer than this). */
const JWKS_MAX_AGE_SECONDS = 300;

/**
 * Serves GET `/.well-known/jwks.json` (identity's public keys, as the gateway's verifier caches them) and
 * hands every other plain-HTTP request to `next` (e.g. the storefront's files), or answers the host's own
 * Connect 404 (`unimplemented`), as a host without a fallback does.
 */
export function withJwksRoute(tokens: TokenVerifier, next?: HttpFallback): HttpFallback {
  return async (req, response) => {
    // Both response kinds share this API; the union's overloads do not type-check together.
    const res = response as ServerResponse;
    const path = (req.url ?? "/").split("?")[0];
    if (path !== JWKS_PATH) {
      if (next !== undefined) return next(req, response);
      respondUnimplemented(req, response);
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(await tokens.jwks());
    } catch {
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "5" }).end("keys unavailable\n");
      return;
    }
    res.writeHead(200, {
      "content-type": "application/jwk-set+json",
      "cache-control": `public, max-age=${JWKS_MAX_AGE_SECONDS}`,
      "access-control-allow-origin": "*",
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}
