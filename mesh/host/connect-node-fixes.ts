// Two places where connect-node's server answers differently from what the host promises, fixed on
// the response as it is written (error responses only; successful calls are untouched apart from a
// cheap first-byte check on streamed chunks):
//
// 1. A request body that is not valid binary Protobuf is answered INTERNAL ("parse binary: ...") by
//    connect-es; the host promises INVALID_ARGUMENT for malformed input, as connect-go and grpc-go do.
// 2. connect-es percent-encodes grpc-message with encodeURIComponent (":" -> "%3A"), which grpc-js
//    decodes with decodeURI and shows garbled; it is re-encoded the way grpc-go does it.
//
// Weft's own engine produces the right answers directly; these fixes exist only for connect-node.

import type * as http from "node:http";
import { encodeGrpcMessage } from "../engine/index.ts";

/** How connect-es words a request that is not valid binary Protobuf. */
const PARSE_ERROR_PREFIX = "parse binary:";
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";

function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Fixes grpc-status / grpc-message in a header or trailer object, in place. */
function fixGrpcStatusFields(fields: Record<string, unknown>): void {
  const raw = fields["grpc-message"];
  if (typeof raw !== "string") return;
  const message = percentDecode(raw);
  if (String(fields["grpc-status"]) === GRPC_INTERNAL && message.startsWith(PARSE_ERROR_PREFIX)) {
    fields["grpc-status"] = GRPC_INVALID_ARGUMENT;
  }
  fields["grpc-message"] = encodeGrpcMessage(message);
}

/** gRPC over HTTP/2: status travels in trailers, or in the headers of a trailers-only answer. */
function fixGrpc(res: http.ServerResponse): void {
  const writeHead = res.writeHead;
  const addTrailers = res.addTrailers;
  res.writeHead = function (this: http.ServerResponse, status: number, ...rest: unknown[]) {
    for (const arg of rest) {
      if (typeof arg === "object" && arg !== null && !Array.isArray(arg)) fixGrpcStatusFields(arg as Record<string, unknown>);
    }
    return (writeHead as (...args: unknown[]) => http.ServerResponse).call(this, status, ...rest);
  } as typeof res.writeHead;
  res.addTrailers = function (this: http.ServerResponse, trailers) {
    if (typeof trailers === "object" && trailers !== null && !Array.isArray(trailers)) {
      fixGrpcStatusFields(trailers as Record<string, unknown>);
    }
    return addTrailers.call(this, trailers);
  };
}

function envelope(flags: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** gRPC-Web: the status is in a trailer frame (flag 0x80) in the body. */
function fixGrpcWebChunk(chunk: Buffer): Buffer {
  if (chunk.length < 5 || chunk[0] !== 0x80 || chunk.readUInt32BE(1) !== chunk.length - 5) return chunk;
  const fields: Record<string, unknown> = {};
  const order: string[] = [];
  for (const line of chunk.subarray(5).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    fields[name] = line.slice(colon + 1).trim();
    order.push(name);
  }
  if (fields["grpc-status"] === undefined) return chunk;
  fixGrpcStatusFields(fields);
  return envelope(0x80, Buffer.from(order.map((name) => `${name}: ${fields[name]}\r\n`).join(""), "latin1"));
}

/** Connect streaming: the status is in the end-of-stream frame (flag 0x02), as JSON. */
function fixConnectEndStreamChunk(chunk: Buffer): Buffer {
  if (chunk.length < 5 || (chunk[0] & 0x02) === 0 || chunk.readUInt32BE(1) !== chunk.length - 5) return chunk;
  try {
    const end = JSON.parse(chunk.subarray(5).toString("utf8")) as { error?: { code?: string; message?: string } };
    if (end.error?.code !== "internal" || !end.error.message?.startsWith(PARSE_ERROR_PREFIX)) return chunk;
    end.error.code = "invalid_argument";
    return envelope(chunk[0], Buffer.from(JSON.stringify(end), "utf8"));
  } catch {
    return chunk;
  }
}

function fixWrittenChunks(res: http.ServerResponse, fix: (chunk: Buffer) => Buffer): void {
  const write = res.write;
  res.write = function (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
    const fixed = chunk instanceof Uint8Array ? fix(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) : chunk;
    return (write as (...args: unknown[]) => boolean).call(this, fixed, ...rest);
  } as typeof res.write;
}

/** Connect unary (and GET): an error is a JSON body with HTTP 500 for internal; buffered and fixed. */
function fixConnectUnary(res: http.ServerResponse): void {
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  res.writeHead = function (this: http.ServerResponse, status: number, ...rest: unknown[]) {
    const headers = rest.find((arg) => typeof arg === "object" && arg !== null && !Array.isArray(arg)) as Record<string, unknown> | undefined;
    if (status !== 500 || headers === undefined) {
      return (writeHead as (...args: unknown[]) => http.ServerResponse).call(this, status, ...rest);
    }
    // Hold the answer until the body is known (an error body is small and bounded).
    const chunks: Buffer[] = [];
    res.write = function (chunk: unknown) {
      if (chunk instanceof Uint8Array || typeof chunk === "string") chunks.push(Buffer.from(chunk as Uint8Array));
      return true;
    } as typeof res.write;
    res.end = function (this: http.ServerResponse, ...args: unknown[]) {
      const last = args[0];
      if (last instanceof Uint8Array || typeof last === "string") {
        chunks.push(Buffer.from(last as Uint8Array));
        args.shift();
      }
      let body = Buffer.concat(chunks);
      let finalStatus = status;
      try {
        const error = JSON.parse(body.toString("utf8")) as { code?: string; message?: string };
        if (error.code === "internal" && error.message?.startsWith(PARSE_ERROR_PREFIX)) {
          error.code = "invalid_argument";
          finalStatus = 400;
          body = Buffer.from(JSON.stringify(error), "utf8");
          for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-length") delete headers[name];
          headers["content-length"] = String(body.length);
        }
      } catch {
        // Not JSON: send as it was.
      }
      res.write = write;
      res.end = end;
      (writeHead as (...args: unknown[]) => http.ServerResponse).call(this, finalStatus, ...rest);
      if (body.length > 0) (write as (chunk: Buffer) => boolean).call(this, body);
      return (end as (...args: unknown[]) => http.ServerResponse).call(this, ...args);
    } as typeof res.end;
    return this;
  } as typeof res.writeHead;
}

/** Installs the fixes that apply to a request with this content type on its response. */
export function applyConnectNodeFixes(contentType: string | undefined, res: http.ServerResponse): void {
  const type = (contentType ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) {
    fixWrittenChunks(res, fixGrpcWebChunk);
  } else if (type.startsWith("application/grpc")) {
    fixGrpc(res);
  } else if (type.startsWith("application/connect+")) {
    fixWrittenChunks(res, fixConnectEndStreamChunk);
  } else {
    fixConnectUnary(res);
  }
}
