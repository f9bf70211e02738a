// connectrpc.conformance.v1.ConformanceService as the conformance suite's server tests ask for it:
// echo what was received (headers, timeout, every request, Connect GET query), answer with the
// response definition's data, headers, trailers and delays, or fail with its error.

import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  BidiStreamRequestSchema,
  ClientStreamRequestSchema,
  ConformancePayload_RequestInfoSchema,
  ConformanceService,
  IdempotentUnaryRequestSchema,
  ServerStreamRequestSchema,
  UnaryRequestSchema,
} from "../../gen/connectrpc/conformance/v1/service_pb.ts";
import type {
  ConformancePayload_RequestInfo,
  Error as ConformanceError,
  Header,
  StreamResponseDefinition,
  UnaryResponseDefinition,
} from "../../gen/connectrpc/conformance/v1/service_pb.ts";

export { ConformanceService };

/** Headers as the suite's Header list (one entry per name, values in order). */
export function toHeaderList(headers: Headers | URLSearchParams): Header[] {
  const byName = new Map<string, string[]>();
  const add = (value: string, name: string) => {
    const values = byName.get(name);
    if (values === undefined) byName.set(name, [value]);
    else values.push(value);
  };
  if (headers instanceof Headers) {
    // Headers joins repeated values; set-cookie aside, the suite compares them joined too.
    headers.forEach(add);
  } else {
    headers.forEach(add);
  }
  return [...byName].map(([name, value]) => ({ $typeName: "connectrpc.conformance.v1.Header", name, value }));
}

/** Adds the suite's Header list to `target`. */
export function addHeaders(list: readonly Header[], target: Headers): void {
  for (const h of list) for (const v of h.value) target.append(h.name, v);
}

function requestInfo(ctx: HandlerContext, requests: Any[], withHeaders = true): ConformancePayload_RequestInfo {
  const info = create(ConformancePayload_RequestInfoSchema, { requests });
  if (!withHeaders) return info;
  info.requestHeaders = toHeaderList(ctx.requestHeader);
  const timeout = ctx.timeoutMs();
  if (timeout !== undefined) info.timeoutMs = BigInt(Math.max(0, Math.round(timeout)));
  if (ctx.requestMethod === "GET") {
    const query = new URL(ctx.url).searchParams;
    info.connectGetInfo = { $typeName: "connectrpc.conformance.v1.ConformancePayload.ConnectGetInfo", queryParams: toHeaderList(query) };
  }
  return info;
}

/** The definition's error as a ConnectError carrying `info` (when given) as a detail. */
function toConnectError(def: ConformanceError, info: ConformancePayload_RequestInfo | undefined): ConnectError {
  const err = new ConnectError(def.message ?? "", def.code as number as Code);
  for (const d of def.details) err.details.push({ type: d.typeUrl.slice(d.typeUrl.lastIndexOf("/") + 1), value: d.value });
  if (info !== undefined) err.details.push({ desc: ConformancePayload_RequestInfoSchema, value: info });
  return err;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Unary and client-stream answer: the payload, or the definition's error with the request info. */
async function unaryAnswer(ctx: HandlerContext, def: UnaryResponseDefinition | undefined, requests: Any[]) {
  const info = requestInfo(ctx, requests);
  if (def === undefined) return { payload: { requestInfo: info } };
  addHeaders(def.responseHeaders, ctx.responseHeader);
  addHeaders(def.responseTrailers, ctx.responseTrailer);
  await sleep(def.responseDelayMs, ctx.signal);
  if (def.response.case === "error") throw toConnectError(def.response.value, info);
  return { payload: { requestInfo: info, data: def.response.case === "responseData" ? def.response.value : undefined } };
}

/** The service, as the suite's reference server behaves. */
export function createConformanceService(): Omit<ServiceImpl<typeof ConformanceService>, "unimplemented"> {
  return {
    async unary(req, ctx) {
      return unaryAnswer(ctx, req.responseDefinition, [anyPack(UnaryRequestSchema, req)]);
    },
    async idempotentUnary(req, ctx) {
      return unaryAnswer(ctx, req.responseDefinition, [anyPack(IdempotentUnaryRequestSchema, req)]);
    },
    async clientStream(reqs, ctx) {
      let def: UnaryResponseDefinition | undefined;
      const received: Any[] = [];
      let first = true;
      for await (const req of reqs) {
        if (first) def = req.responseDefinition;
        first = false;
        received.push(anyPack(ClientStreamRequestSchema, req));
      }
      return unaryAnswer(ctx, def, received);
    },
    async *serverStream(req, ctx) {
      const def = req.responseDefinition;
      if (def === undefined) return;
      addHeaders(def.responseHeaders, ctx.responseHeader);
      addHeaders(def.responseTrailers, ctx.responseTrailer);
      const requests = [anyPack(ServerStreamRequestSchema, req)];
      let sent = 0;
      for (const data of def.responseData) {
        await sleep(def.responseDelayMs, ctx.signal);
        yield { payload: { data, requestInfo: sent === 0 ? requestInfo(ctx, requests) : undefined } };
        sent++;
      }
      if (def.error !== undefined) throw toConnectError(def.error, sent === 0 ? requestInfo(ctx, requests) : undefined);
    },
    async *bidiStream(reqs, ctx) {
      let def: StreamResponseDefinition | undefined;
      let fullDuplex = false;
      let first = true;
      let sent = 0;
      let received: Any[] = [];
      for await (const req of reqs) {
        received.push(anyPack(BidiStreamRequestSchema, req));
        if (first) {
          first = false;
          def = req.responseDefinition;
          fullDuplex = req.fullDuplex;
          if (def !== undefined) {
            addHeaders(def.responseHeaders, ctx.responseHeader);
            addHeaders(def.responseTrailers, ctx.responseTrailer);
          }
        }
        if (!fullDuplex) continue;
        if (def === undefined || sent >= def.responseData.length) break;
        await sleep(def.responseDelayMs, ctx.signal);
        yield { payload: { data: def.responseData[sent], requestInfo: requestInfo(ctx, received, sent === 0) } };
        sent++;
        received = [];
      }
      if (def === undefined) return;
      for (; sent < def.responseData.length; sent++) {
        await sleep(def.responseDelayMs, ctx.signal);
        yield { payload: { data: def.responseData[sent], requestInfo: sent === 0 ? requestInfo(ctx, received) : undefined } };
      }
      if (def.error !== undefined) throw toConnectError(def.error, sent === 0 ? requestInfo(ctx, received) : undefined);
    },
  };
}
