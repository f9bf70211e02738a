// The answer to a request for a service or method the server does not serve, in the caller's protocol:
// gRPC and gRPC-Web get HTTP 200 with grpc-status 12 (as grpc-go does), Connect and anything else a
// 404 with a Connect JSON error whose code is "unimplemented". Every engine answers with this one.

import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";

/**
 * Percent-encodes a gRPC message as the gRPC spec asks: UTF-8 bytes outside 0x20-0x7E, and '%', become
 * %XX; everything else stays (grpc-js does not decode a wider encoding such as encodeURIComponent's).
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The message for an unknown procedure path (any query is dropped). */
export function unimplementedMessage(path: string | undefined): string {
  const procedure = (path ?? "/").split("?")[0];
  return `${procedure} is not implemented`;
}

/** An unknown procedure's answer, ready to write. */
export interface UnimplementedAnswer {
  /** HTTP status: 200 for gRPC and gRPC-Web (trailers-only), 404 otherwise. */
  readonly status: number;
  /** Response headers (lower-case names). */
  readonly headers: Record<string, string | number>;
  /** The Connect JSON error body, or undefined for gRPC (the status travels in the headers). */
  readonly body: Buffer | undefined;
}

/**
 * The answer to a call of `path` that no service serves. `grpcContentType` is the response content type
 * when the caller speaks gRPC or gRPC-Web ("application/grpc", "application/grpc-web"), else undefined.
 */
export function unimplementedAnswer(grpcContentType: string | undefined, path: string | undefined): UnimplementedAnswer {
  const message = unimplementedMessage(path);
  if (grpcContentType !== undefined) {
    return {
      status: 200,
      headers: { "content-type": grpcContentType, "grpc-status": String(Code.Unimplemented), "grpc-message": encodeGrpcMessage(message) },
      body: undefined,
    };
  }
  const body = Buffer.from(JSON.stringify({ code: "unimplemented", message }));
  return { status: 404, headers: { "content-type": "application/json", "content-length": body.length }, body };
}

/** Answers an unknown procedure on the HTTP/1.1 or HTTP/2 compat API. */
export function respondUnimplemented(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
): void {
  // The two response types share these methods; the cast only merges their overloads.
  const res = response as http.ServerResponse;
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase();
  const answer = unimplementedAnswer(contentType.startsWith("application/grpc") ? contentType.split(";")[0] : undefined, req.url);
  if (answer.body === undefined && "stream" in response && response.stream !== undefined && !response.headersSent) {
    // HTTP/2: a trailers-only response, one HEADERS frame ending the stream.
    response.stream.respond({ ":status": answer.status, ...answer.headers }, { endStream: true });
    return;
  }
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}
