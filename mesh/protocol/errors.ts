// Error translation for every protocol, in one place: ConnectError -> gRPC trailers, Connect error JSON
// and HTTP status; anything that is not a ConnectError becomes INTERNAL with no internals exposed.

import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJson } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

/** Turns any thrown value into a ConnectError safe to send to a caller. */
export function toConnectError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  return new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
}

/** Headers that carry protocol state and must never be copied from user metadata. */
const PROTOCOL_HEADERS = new Set([
  "content-type", "content-length", "content-encoding", "accept-encoding", "transfer-encoding",
  "connection", "keep-alive", "te", "trailer", "upgrade", "host",
  "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding",
  "grpc-timeout", "connect-protocol-version", "connect-timeout-ms", "connect-content-encoding",
  "connect-accept-encoding",
]);

/** True for a header name a handler may not set because the engine owns it. */
export function isProtocolHeader(name: string): boolean {
  return PROTOCOL_HEADERS.has(name) || name.charCodeAt(0) === 58; /* ':' */
}

/** Copies user headers (a WHATWG Headers) into a plain outgoing header object, skipping protocol ones. */
export function copyUserHeaders(from: Headers | undefined, to: Record<string, string | string[] | number>, prefix = ""): void {
  if (from === undefined) return;
  from.forEach((value, key) => {
    if (isProtocolHeader(key)) return;
    to[prefix + key] = value;
  });
}

/** gRPC / gRPC-Web status trailers (grpc-status, grpc-message, grpc-status-details-bin, metadata). */
export function grpcErrorTrailers(err: ConnectError, to: Record<string, string | string[] | number>): void {
  const h = setTrailerStatus(new Headers(), err);
  h.forEach((value, key) => {
    to[key] = value;
  });
  to["grpc-message"] = encodeGrpcMessage(err.rawMessage);
}

/** The Connect protocol error body: `{"code": ..., "message": ..., "details": [...]}`. */
export function connectErrorJson(err: ConnectError): object {
  return errorToJson(err, undefined);
}

/** The HTTP status of a Connect unary error. */
export function connectErrorStatus(err: ConnectError): number {
  return codeToHttpStatus(err.code);
}

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

/** Decodes a percent-encoded gRPC message, leaving it as is if it is not valid percent-encoding. */
export function decodeGrpcMessage(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

export { Code, ConnectError };
