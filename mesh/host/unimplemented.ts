// The answer to a request for a service or method the host does not serve, in the caller's protocol:
// gRPC and gRPC-Web get HTTP 200 with grpc-status 12 (as grpc-go does), Connect and anything else a
// 404 with a Connect JSON error whose code is "unimplemented".

import type * as http from "node:http";
import type * as http2 from "node:http2";

const GRPC_UNIMPLEMENTED = "12";

/** Percent-encodes a grpc-message value as the gRPC spec asks (bytes outside 0x20-0x7E, and '%'). */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The message for an unknown procedure path. */
export function unimplementedMessage(path: string | undefined): string {
  const procedure = (path ?? "/").split("?")[0];
  return `${procedure} is not implemented`;
}

/** Answers an unknown procedure on the HTTP/1.1 or HTTP/2 compat API. */
export function respondUnimplemented(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
): void {
  // The two response types share these methods; the cast only merges their overloads.
  const res = response as http.ServerResponse;
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase();
  const message = unimplementedMessage(req.url);
  if (contentType.startsWith("application/grpc")) {
    const headers = {
      "content-type": contentType.split(";")[0],
      "grpc-status": GRPC_UNIMPLEMENTED,
      "grpc-message": encodeGrpcMessage(message),
    };
    if ("stream" in response && response.stream !== undefined && !response.headersSent) {
      // HTTP/2: a trailers-only response, one HEADERS frame ending the stream.
      response.stream.respond({ ":status": 200, ...headers }, { endStream: true });
      return;
    }
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const body = JSON.stringify({ code: "unimplemented", message });
  res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
