// The client under test for the Connect conformance suite (`connectconformance --mode client`): reads
// size-delimited ClientCompatRequests on stdin, makes each call with Weft's client transports (gRPC
// over HTTP/2; Connect and gRPC-Web over HTTP/1.1 or HTTP/2), and writes a ClientCompatResponse per
// call on stdout. Calls run concurrently (bounded); results are written whole, in completion order.

import { create, createRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethod, DescMethodStreaming, DescMethodUnary } from "@bufbuild/protobuf";
import { AnySchema as AnySchemaRef, anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { ClientCompatRequestSchema, ClientCompatResponseSchema } from "../../gen/connectrpc/conformance/v1/client_compat_pb.ts";
import type { ClientCompatRequest, ClientResponseResult } from "../../gen/connectrpc/conformance/v1/client_compat_pb.ts";
import { Codec, Compression, HTTPVersion, Protocol, StreamType } from "../../gen/connectrpc/conformance/v1/config_pb.ts";
import { ConformancePayloadSchema, ConformanceService, ErrorSchema, file_connectrpc_conformance_v1_service } from "../../gen/connectrpc/conformance/v1/service_pb.ts";
import type { ConformancePayload, Error as ConformanceError } from "../../gen/connectrpc/conformance/v1/service_pb.ts";
import { createWeftConnectTransport, createWeftGrpcTransport, createWeftGrpcWebTransport } from "../../mesh/transport/index.ts";
import type { WeftTransport, WeftTransportOptions } from "../../mesh/transport/index.ts";
import { toHeaderList } from "./conformance-service.ts";
import { readSizeDelimited, writeSizeDelimited } from "./size-delimited.ts";

if (process.argv.includes("--help")) {
  process.stdout.write("usage: node test/conformance/client.ts  (run by connectconformance --mode client; see test/conformance/README.md)\n");
  process.exit(0);
}

/** Calls in flight at once. */
const MAX_CONCURRENT_CALLS = 32;

const registry = createRegistry(file_connectrpc_conformance_v1_service);

/** One transport per distinct client configuration, shared by the calls that use it. */
const transports = new Map<string, WeftTransport>();

function transportFor(req: ClientCompatRequest): WeftTransport {
  const tls = req.serverTlsCert.length > 0;
  const key = [req.protocol, req.httpVersion, req.codec, req.compression, req.host, req.port, tls, req.clientTlsCreds !== undefined, req.messageReceiveLimit, req.useGetHttpMethod].join("|");
  let t = transports.get(key);
  if (t !== undefined) return t;
  const options: WeftTransportOptions = {
    baseUrl: `${tls ? "https" : "http"}://${req.host}:${req.port}`,
    binaryFormat: req.codec !== Codec.JSON,
    sendGzip: req.compression === Compression.GZIP,
    compressMinBytes: 0,
    readMaxBytes: req.messageReceiveLimit > 0 ? req.messageReceiveLimit : undefined,
    httpVersion: req.httpVersion === HTTPVersion.HTTP_VERSION_2 ? "2" : "1.1",
    useHttpGet: req.useGetHttpMethod,
    json: { registry },
    tls: tls
      ? {
          ca: Buffer.from(req.serverTlsCert),
          cert: req.clientTlsCreds === undefined ? undefined : Buffer.from(req.clientTlsCreds.cert),
          key: req.clientTlsCreds === undefined ? undefined : Buffer.from(req.clientTlsCreds.key),
        }
      : undefined,
  };
  if (req.compression !== Compression.IDENTITY && req.compression !== Compression.GZIP && req.compression !== Compression.UNSPECIFIED) {
    throw new Error(`compression ${req.compression} is not supported`);
  }
  switch (req.protocol) {
    case Protocol.GRPC:
      t = createWeftGrpcTransport(options);
      break;
    case Protocol.GRPC_WEB:
      t = createWeftGrpcWebTransport(options);
      break;
    case Protocol.CONNECT:
      t = createWeftConnectTransport(options);
      break;
    default:
      throw new Error(`protocol ${req.protocol} is not supported`);
  }
  transports.set(key, t);
  return t;
}

/** A ConnectError in the suite's terms, details as Any. */
function toConformanceError(e: unknown): ConformanceError {
  const err = ConnectError.from(e, Code.Unknown);
  const details: Any[] = err.details.map((d) =>
    "desc" in d ? anyPack(d.desc, create(d.desc, d.value)) : create(AnySchemaRef, { typeUrl: `type.googleapis.com/${d.type}`, value: d.value }),
  );
  return create(ErrorSchema, { code: err.code as number as ConformanceError["code"], message: err.rawMessage, details });
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Runs one call as the request describes and reports what happened. */
async function runCall(req: ClientCompatRequest): Promise<ClientResponseResult> {
  const method = ConformanceService.methods.find((m) => m.name === req.method) as DescMethod | undefined;
  if (req.service !== ConformanceService.typeName || method === undefined) throw new Error(`unknown method ${req.service}/${req.method}`);
  const transport: Transport = transportFor(req);
  const messages = req.requestMessages.map((a) => {
    const m = anyUnpack(a, registry);
    if (m === undefined || m.$typeName !== method.input.typeName) throw new Error(`request message ${a.typeUrl} is not a ${method.input.typeName}`);
    return m;
  });
  const header = new Headers();
  for (const h of req.requestHeaders) for (const v of h.value) header.append(h.name, v);
  const ac = new AbortController();
  const cancel = req.cancel?.cancelTiming;
  const result: ClientResponseResult = create(ClientCompatResponseSchema.field.response.message!, {}) as ClientResponseResult;
  const payloads: ConformancePayload[] = [];
  const finish = (headers: Headers | undefined, trailers: Headers | undefined, err?: unknown) => {
    result.responseHeaders = headers === undefined ? [] : toHeaderList(headers);
    result.responseTrailers = trailers === undefined ? [] : toHeaderList(trailers);
    result.payloads = payloads;
    if (err !== undefined) {
      result.error = toConformanceError(err);
      if (trailers === undefined && err instanceof ConnectError) result.responseTrailers = toHeaderList(stripTrailerPrefix(err.metadata));
    }
    return result;
  };

  if (method.methodKind === "unary") {
    if (cancel?.case === "afterCloseSendMs") setTimeout(() => ac.abort(), cancel.value);
    try {
      const res = await transport.unary(method as DescMethodUnary, ac.signal, req.timeoutMs, header, messages[0] as never, undefined);
      payloads.push(payloadOf(res.message));
      return finish(res.header, res.trailer);
    } catch (e) {
      return finish(undefined, undefined, e);
    }
  }

  // Streams: the request side is a generator, so delays, full-duplex turns and cancellation are in one place.
  const fullDuplex = req.streamType === StreamType.FULL_DUPLEX_BIDI_STREAM;
  let sent = 0;
  let received = 0;
  let turn: (() => void) | undefined;
  const waitTurn = () => new Promise<void>((r) => (turn = r));
  const nextTurn = () => {
    const t = turn;
    turn = undefined;
    t?.();
  };
  async function* input(): AsyncGenerator<unknown> {
    for (const m of messages) {
      if (fullDuplex && sent > received) await waitTurn();
      if (ac.signal.aborted) return;
      await sleep(req.requestDelayMs);
      sent++;
      yield m;
    }
    // Full duplex: the last message's answer comes before the request side closes (or is canceled).
    if (fullDuplex && sent > received && !ac.signal.aborted) await waitTurn();
    if (cancel?.case === "beforeCloseSend") {
      ac.abort();
      return;
    }
    if (cancel?.case === "afterCloseSendMs") setTimeout(() => ac.abort(), cancel.value);
  }
  let headers: Headers | undefined;
  let trailers: Headers | undefined;
  try {
    const res = await transport.stream(method as DescMethodStreaming, ac.signal, req.timeoutMs, header, input() as AsyncIterable<never>, undefined);
    headers = res.header;
    if (cancel?.case === "afterNumResponses" && cancel.value === 0) ac.abort();
    try {
      for await (const msg of res.message) {
        received++;
        payloads.push(payloadOf(msg));
        nextTurn();
        if (cancel?.case === "afterNumResponses" && received >= cancel.value) ac.abort();
      }
    } finally {
      nextTurn();
    }
    trailers = res.trailer;
    if (method.methodKind === "client_streaming" && received !== 1) {
      payloads.length = 0;
      // connect-es' client checks this above the transport; so does this one.
      throw new ConnectError(`protocol error: ${received === 0 ? "missing" : "received extra"} output message for client-streaming method`, Code.Unimplemented, trailers);
    }
    result.numUnsentRequests = messages.length - sent;
    return finish(headers, trailers);
  } catch (e) {
    result.numUnsentRequests = messages.length - sent;
    return finish(headers, undefined, e);
  }
}

/** A response message's payload; an empty response still counts as one (empty) payload. */
function payloadOf(msg: unknown): ConformancePayload {
  return (msg as { payload?: ConformancePayload }).payload ?? create(ConformancePayloadSchema);
}

function stripTrailerPrefix(h: Headers): Headers {
  const out = new Headers();
  h.forEach((v, k) => out.append(k.startsWith("trailer-") ? k.slice(8) : k, v));
  return out;
}

const running = new Set<Promise<void>>();
let stopping = false;
process.once("SIGTERM", () => process.exit(0));

for await (const bytes of readSizeDelimited(process.stdin)) {
  const req = fromBinary(ClientCompatRequestSchema, bytes);
  while (running.size >= MAX_CONCURRENT_CALLS) await Promise.race(running);
  const p = (async () => {
    let out;
    try {
      out = create(ClientCompatResponseSchema, { testName: req.testName, result: { case: "response", value: await runCall(req) } });
    } catch (e) {
      out = create(ClientCompatResponseSchema, { testName: req.testName, result: { case: "error", value: { message: e instanceof Error ? e.message : String(e) } } });
    }
    if (!stopping) writeSizeDelimited(process.stdout, toBinary(ClientCompatResponseSchema, out));
  })();
  running.add(p);
  void p.finally(() => running.delete(p));
}
await Promise.all(running);
stopping = true;
for (const t of transports.values()) t.close();
process.exit(0);
