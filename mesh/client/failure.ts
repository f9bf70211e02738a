// How the mesh client reads an attempt's error: may it be retried, did it provably never reach a
// handler, and does it count against the endpoint's health. Kept in one place so every transport
// agrees.

import { Code, ConnectError } from "@connectrpc/connect";
import { isRefusal } from "../resilience/index.ts";
import { CONNECTION_LOST_CODE } from "../nats-rpc/index.ts";

/** System error codes meaning the request never left this process or never reached a server. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"]);

/** System error codes meaning the connection broke: the request may or may not have been handled. */
const BROKEN_CODES = new Set(["ECONNRESET", "EPIPE", "ERR_HTTP2_STREAM_ERROR", "ERR_HTTP2_SESSION_ERROR", "ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_STREAM_CANCEL", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_SESSION"]);

/** What an attempt's error means to the retry logic. */
export interface FailureClass {
  /** True when no handler can have run (connection refused, refusal by a draining/overloaded server). */
  readonly neverReachedHandler: boolean;
  /** True when an idempotent call may be retried elsewhere (the failure is the transport's or the instance's). */
  readonly retryableIfIdempotent: boolean;
  /** True when the failure says the endpoint is unhealthy (counts toward outlier ejection). */
  readonly endpointFailure: boolean;
}

/** Classifies an attempt's error. */
export function classifyFailure(err: unknown): FailureClass {
  if (!(err instanceof ConnectError)) {
    return { neverReachedHandler: false, retryableIfIdempotent: false, endpointFailure: true };
  }
  const codes = systemCodes(err);
  const notSent = codes.some((c) => NOT_SENT_CODES.has(c)) || isRefusedStream(err);
  if (notSent || isRefusal(err)) {
    // Overload refusals are the server protecting itself, not a sign of a broken endpoint.
    const overloaded = err.code === Code.ResourceExhausted;
    return { neverReachedHandler: true, retryableIfIdempotent: true, endpointFailure: !overloaded };
  }
  // NATS went away under the call: its instance is fine (the call goes over gRPC meanwhile).
  if (codes.includes(CONNECTION_LOST_CODE)) return { neverReachedHandler: false, retryableIfIdempotent: true, endpointFailure: false };
  const broken = codes.some((c) => BROKEN_CODES.has(c));
  switch (err.code) {
    case Code.Unavailable:
      return { neverReachedHandler: false, retryableIfIdempotent: true, endpointFailure: true };
    case Code.Aborted:
    case Code.Internal:
    case Code.Unknown:
      // Only a broken connection makes these retryable; a handler's own ABORTED/INTERNAL is an answer.
      return { neverReachedHandler: false, retryableIfIdempotent: broken, endpointFailure: broken || err.code !== Code.Aborted };
    default:
      return { neverReachedHandler: false, retryableIfIdempotent: false, endpointFailure: false };
  }
}

function systemCodes(err: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e instanceof Error && !seen.has(e)) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") out.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

// An HTTP/2 REFUSED_STREAM reset means the server never processed the stream (e.g. past a GOAWAY's last
// stream id). connect-node and Weft's transport both report it as UNAVAILABLE, with these messages.
function isRefusedStream(err: ConnectError): boolean {
  return err.code === Code.Unavailable && (err.rawMessage.includes("REFUSED_STREAM") || err.rawMessage.startsWith("stream refused by the server"));
}
