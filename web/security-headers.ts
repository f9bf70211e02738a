/**
 * The response headers the storefront page is served with: a Content-Security-Policy that lets the page
 * load only its own files and call only its own origin (plus the API origin it was built for), and
 * refuses framing (clickjacking) and referrers (URLs never leak to other sites).
 */
import type { HttpFallback } from "../mesh/host/index.ts";
import { webOrigin } from "./build.ts";

/** Options of {@link storefrontSecurityHeaders}. */
export interface SecurityHeadersOptions {
  /** Origins besides the page's own that it may call (the `apiOrigin` it was built with). Default []. */
  readonly connectOrigins?: readonly string[];
}

/** The header names and values, lower-case names. */
export function storefrontSecurityHeaders(options: SecurityHeadersOptions = {}): Record<string, string> {
  const connect = (options.connectOrigins ?? []).map((origin, i) => webOrigin(origin, `options.connectOrigins[${i}]`));
  const policy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...connect].join(" ")}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return {
    "content-security-policy": policy,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
  };
}

/** Wraps a plain-HTTP fallback (e.g. `serveStaticFiles`) so every response it sends carries the headers. */
export function withSecurityHeaders(fallback: HttpFallback, options: SecurityHeadersOptions = {}): HttpFallback {
  const headers = Object.entries(storefrontSecurityHeaders(options));
  return (req, res) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    return fallback(req, res);
  };
}
