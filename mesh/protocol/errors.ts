// Error translation for every protocol, in one place: ConnectError -> gRPC trailers, Connect error JSON
// and HTTP status (what is not a ConnectError was already made one by the host's gate, mesh/engine).

import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJson } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { encodeGrpcMessage } from "../engine/index.ts";

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
