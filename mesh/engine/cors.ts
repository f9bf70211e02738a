// CORS decisions for browsers calling the host with Connect-Web or gRPC-Web from another origin.
// Pure functions over header values, so every wire engine applies exactly the same policy.

import { cors as connectCors } from "@connectrpc/connect";

/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/** Headers the host always lets a browser read, beyond connect's list. */
const EXTRA_EXPOSED_HEADERS = ["Connect-Protocol-Version", "Grpc-Status-Details-Bin", "Trailer-Grpc-Status"];

/** Headers a browser may always send, beyond connect's list. */
const EXTRA_ALLOWED_HEADERS = ["Authorization", "Connect-Accept-Encoding", "Connect-Content-Encoding"];

/** The answer to a CORS preflight request. */
export interface PreflightAnswer {
  /** HTTP status: 204 when the origin is allowed, 403 when it is not. */
  readonly status: number;
  /** Response headers (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The CORS policy of one host, shared by every wire engine. */
export interface CorsPolicy {
  /** False when no origin is allowed: engines may skip all CORS work except refusing preflights. */
  readonly enabled: boolean;
  /** True when `origin` (the value of the `Origin` header) may call this host from a browser. */
  isAllowedOrigin(origin: string): boolean;
  /**
   * Answers a preflight (`OPTIONS` carrying `Origin` and `Access-Control-Request-Method`).
   * `requestHeaders` is the raw `Access-Control-Request-Headers` value, if any.
   */
  preflight(origin: string, requestMethod: string, requestHeaders: string | undefined): PreflightAnswer;
  /**
   * Headers to add to the response of a request that carried `origin` (lower-case names). Empty when the
   * origin is not allowed: the browser then hides the response from the calling script.
   */
  responseHeaders(origin: string | undefined): Readonly<Record<string, string>>;
}

/** True when an HTTP request is a CORS preflight. */
export function isPreflight(method: string | undefined, origin: unknown, requestMethod: unknown): boolean {
  return method === "OPTIONS" && typeof origin === "string" && typeof requestMethod === "string";
}

/**
 * Builds the CORS policy for a list of allowed origins: exact origins such as
 * "https://shop.example" or "*" for any origin. An empty list allows none. Origins named exactly may
 * send credentials (cookies: `fetch(..., { credentials: "include" })`); origins let in by "*" may not.
 */
export function createCorsPolicy(allowedOrigins: readonly string[]): CorsPolicy {
  const anyOrigin = allowedOrigins.includes("*");
  const origins = new Set(allowedOrigins.map((o) => o.toLowerCase()));
  const allowMethods = [...connectCors.allowedMethods, "OPTIONS"].join(", ");
  const allowHeadersDefault = [...connectCors.allowedHeaders, ...EXTRA_ALLOWED_HEADERS].join(", ");
  const exposeHeaders = [...new Set([...connectCors.exposedHeaders, ...EXTRA_EXPOSED_HEADERS])].join(", ");
  const isAllowedOrigin = (origin: string): boolean => anyOrigin || origins.has(origin.toLowerCase());
  // Credentials only for origins named exactly: "*" with credentials would let any site act as the user.
  const credentials = (origin: string): Record<string, string> => (origins.has(origin.toLowerCase()) ? { "access-control-allow-credentials": "true" } : {});
  const cache = new Map<string, Readonly<Record<string, string>>>();
  const none: Readonly<Record<string, string>> = Object.freeze({});
  return {
    enabled: origins.size > 0,
    isAllowedOrigin,
    preflight(origin, requestMethod, requestHeaders): PreflightAnswer {
      const method = requestMethod.toUpperCase();
      if (!isAllowedOrigin(origin) || !connectCors.allowedMethods.includes(method)) {
        return { status: 403, headers: { vary: "Origin" } };
      }
      return {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": allowMethods,
          // The origin is trusted, so any header its script asks to send is allowed; connect's list
          // covers clients that ask for nothing in particular.
          "access-control-allow-headers": requestHeaders?.trim() || allowHeadersDefault,
          "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
          ...credentials(origin),
          vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
      };
    },
    responseHeaders(origin) {
      if (origin === undefined || !isAllowedOrigin(origin)) return none;
      let headers = cache.get(origin);
      if (headers === undefined) {
        headers = Object.freeze({
          "access-control-allow-origin": origin,
          "access-control-expose-headers": exposeHeaders,
          ...credentials(origin),
          vary: "Origin",
        });
        if (cache.size < 1024) cache.set(origin, headers);
      }
      return headers;
    },
  };
}
