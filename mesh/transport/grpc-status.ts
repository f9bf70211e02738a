// A gRPC call's final status as the gRPC spec reads it from the response head, the trailers and the
// stream's reset code. Shared by the streaming and the unary client calls.

import * as http2 from "node:http2";
import { performance } from "node:perf_hooks";
import type { IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { nodeHeadersToHeaders } from "./codec.ts";
import { UNSENT } from "./session-pool.ts";

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** gRPC's HTTP-status-to-code table, for responses that are not gRPC at all. */
export function codeFromHttp(status: number): Code {
  switch (status) {
    case 400: return Code.Internal;
    case 401: return Code.Unauthenticated;
    case 403: return Code.PermissionDenied;
    case 404: return Code.Unimplemented;
    case 429: case 502: case 503: case 504: return Code.Unavailable;
    default: return Code.Unknown;
  }
}

/** The call's outcome from its headers, trailers and reset code; undefined means OK. */
export function statusOf(head: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined, rstCode: number | undefined, mayHaveReachedServer: boolean, bodySeen = false, deadlineAt = Infinity): ConnectError | undefined {
  const err = rawStatusOf(head, trailers, rstCode, mayHaveReachedServer, bodySeen);
  // A server that gives up at the deadline resets the stream (CANCEL) just before our own timer fires.
  if (err?.code === Code.Canceled && performance.now() >= deadlineAt - 1) return new ConnectError("the operation timed out", Code.DeadlineExceeded);
  return err;
}

/** Appends the response head (no pseudo-headers) to an error's metadata: a unary error carries both, as in connect-es. */
export function withHeadMetadata(err: ConnectError, head: IncomingHttpHeaders | undefined): ConnectError {
  if (head === undefined || head["grpc-status"] !== undefined) return err;
  nodeHeadersToHeaders(head).forEach((v, k) => {
    if (!err.metadata.has(k)) err.metadata.append(k, v);
  });
  return err;
}

function rawStatusOf(head: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined, rstCode: number | undefined, mayHaveReachedServer: boolean, bodySeen: boolean): ConnectError | undefined {
  if (head === undefined) {
    if (rstCode === NGHTTP2_REFUSED_STREAM) return new ConnectError("stream refused by the server", Code.Unavailable, UNSENT);
    // Never connected, or past the last stream the server's GOAWAY said it processed.
    if (!mayHaveReachedServer) return new ConnectError("connection failed", Code.Unavailable, UNSENT);
    if (rstCode === NGHTTP2_CANCEL) return new ConnectError("stream canceled", Code.Canceled);
    return new ConnectError("the server closed the stream without a response", Code.Unavailable);
  }
  const status = head[":status"];
  if (Number(status) !== 200) return new ConnectError(`HTTP ${String(status)}`, codeFromHttp(Number(status)));
  const ct = head["content-type"];
  if (typeof ct !== "string" || !ct.startsWith("application/grpc")) return new ConnectError(`unexpected content type ${String(ct)}`, Code.Unknown);
  // A status in the head counts only for a trailers-only answer: with a body, the trailers must carry it.
  const source = trailers !== undefined && trailers["grpc-status"] !== undefined ? trailers : head["grpc-status"] !== undefined && !bodySeen ? head : undefined;
  if (source === undefined) {
    if (rstCode === NGHTTP2_CANCEL) return new ConnectError("stream canceled", Code.Canceled);
    return new ConnectError(rstCode !== undefined && rstCode !== 0 ? `stream reset (code ${rstCode})` : "protocol error: missing grpc-status", rstCode === undefined || rstCode === 0 ? Code.Internal : Code.Unavailable);
  }
  if (source["grpc-status"] === "0") return undefined;
  return findTrailerError(nodeHeadersToHeaders(source)) ?? new ConnectError("protocol error: invalid grpc-status", Code.Internal);
}

/** A call's trailers as Headers: the trailers, or the head of a trailers-only response. */
export function trailersOf(head: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined): Headers {
  return nodeHeadersToHeaders(trailers ?? (head?.["grpc-status"] !== undefined ? head : undefined));
}
