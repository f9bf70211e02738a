// What the gateway asks of browsers: the session cookie's name and attributes, and the Connect protocol
// marker that a cross-site form or a plain fetch without a CORS preflight cannot send.
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.ts";
import { requestHeaderValue } from "../../mesh/engine/index.ts";

/** Cookie of a browser session over TLS: the `__Host-` prefix makes the browser insist on Secure, Path=/ and no Domain. */
export const SECURE_SESSION_COOKIE = "__Host-weft_session";
/** Cookie of a browser session over plain HTTP to a non-loopback host: browsers refuse `__Host-` without Secure, and Secure there. */
export const PLAIN_SESSION_COOKIE = "weft_session";

/**
 * True for a request to a loopback host (127.0.0.0/8, ::1, localhost): browsers treat it as a secure
 * context and keep Secure and `__Host-` cookies over plain HTTP there (Chromium 156, checked).
 */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The session cookie's name: `__Host-` only where it can be Secure. */
export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : PLAIN_SESSION_COOKIE;
}

/** A `set-cookie` value carrying a session id (or, with `id` "", clearing it). */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  const attributes = [`${sessionCookieName(secure)}=${id}`, "Path=/", `Max-Age=${id === "" ? 0 : maxAgeSeconds}`, "HttpOnly", "SameSite=Lax"];
  if (secure) attributes.push("Secure");
  return attributes.join("; ");
}

/** The session id of the request's `cookie` header, or undefined. */
export function sessionIdOf(headers: Headers, secure: boolean): string | undefined {
  const raw = headers.get("cookie");
  if (raw === null) return undefined;
  const name = sessionCookieName(secure);
  for (const part of raw.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * True when a browser sent the call: browsers add `origin` to every POST and `sec-fetch-site` to every
 * request to a trustworthy origin (HTTPS, loopback). Server-side fetch (undici) sends `sec-fetch-mode`
 * only, so that one does not count. Read without building the request's Headers.
 */
export function isBrowser(ctx: HandlerContext): boolean {
  return requestHeaderValue(ctx, "origin") !== undefined || requestHeaderValue(ctx, "sec-fetch-site") !== undefined;
}

/**
 * Refuses a browser's Connect call that lacks the protocol marker (`connect-protocol-version: 1`, or
 * `connect=v1` in a GET's query): a form post or an image tag can send cookies but never that header,
 * and a script can send it only after a CORS preflight the allow-list answers.
 */
export function requireConnectMarker(ctx: HandlerContext): void {
  if (ctx.protocolName !== "connect" || !isBrowser(ctx)) return;
  const marked = ctx.requestMethod === "GET"
    ? new URL(ctx.url).searchParams.get("connect") === "v1"
    : requestHeaderValue(ctx, "connect-protocol-version") === "1";
  if (!marked) throw new ConnectError("browsers must send connect-protocol-version: 1 (use a Connect client)", Code.InvalidArgument);
}

/**
 * RESOURCE_EXHAUSTED saying when to retry: in the message (whole seconds) and as a google.rpc.RetryInfo
 * detail (`retry_delay`), which gRPC and Connect clients read without parsing text.
 */
export function retryLater(message: string, retryAfterMs: number): ConnectError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ConnectError(`${message}; try again in ${seconds} s`, Code.ResourceExhausted, undefined, [
    { desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(seconds) } } },
  ]);
}
