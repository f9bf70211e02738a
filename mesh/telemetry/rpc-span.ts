// What RPC client and server spans share: names, semantic-convention attributes, the status of an
// outcome, and the header carrier for W3C trace context.

import { Code, ConnectError } from "@connectrpc/connect";
import { SpanStatusCode, type Attributes, type Span, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { redactText } from "../engine/index.ts";
import { SpanAttributes } from "./names.ts";

/** Reads trace-context headers from WHATWG Headers. */
export const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => {
    const keys: string[] = [];
    carrier.forEach((_, key) => keys.push(key));
    return keys;
  },
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/** Writes trace-context headers into WHATWG Headers. */
export const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** `rpc.system` of a wire protocol: gRPC and gRPC-Web are "grpc", everything else Connect. */
export function rpcSystemOf(protocolName: string): "grpc" | "connect_rpc" {
  return protocolName === "grpc" || protocolName === "grpc-web" ? "grpc" : "connect_rpc";
}

/** The span name of a method: "package.Service/Method". */
export function rpcSpanName(serviceTypeName: string, methodName: string): string {
  return `${serviceTypeName}/${methodName}`;
}

/** The base attributes of an RPC span. */
export function rpcAttributes(system: string, serviceTypeName: string, methodName: string): Attributes {
  return {
    [SpanAttributes.rpcSystem]: system,
    [SpanAttributes.rpcService]: serviceTypeName,
    [SpanAttributes.rpcMethod]: methodName,
  };
}

// Server-side codes that are the server's fault (the semantic conventions' list for gRPC servers);
// other codes (NOT_FOUND, INVALID_ARGUMENT, ...) are the caller's and leave a server span unset.
const SERVER_ERRORS: ReadonlySet<Code> = new Set([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

/** "not_found" for Code.NotFound: the Connect protocol's spelling of a code. */
export function connectCodeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/**
 * Records a call's outcome on its span: the gRPC status code (gRPC) or Connect error code, and an
 * error status for every failure on a client span, for server-fault codes on a server span.
 */
export function setRpcOutcome(span: Span, system: string, error: ConnectError | undefined, side: "client" | "server"): void {
  if (system === "grpc") span.setAttribute(SpanAttributes.rpcGrpcStatusCode, error === undefined ? 0 : error.code);
  if (error === undefined) return;
  const name = connectCodeName(error.code);
  if (system !== "grpc") span.setAttribute(SpanAttributes.rpcConnectErrorCode, name);
  span.setAttribute("error.type", name);
  // The message a ConnectError carries is what the caller sees anyway (no internals); credentials are cut.
  if (side === "client" || SERVER_ERRORS.has(error.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(error.rawMessage) });
}
