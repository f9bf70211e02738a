// The servers of the interop matrix: Weft's host (its default engine), connect-node's adapter and grpc-js,
// all serving weft.testing.v1.TestService on 127.0.0.1 and an ephemeral port; and Weft's Connect over
// NATS server on a subject of its own on the shared NATS.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createHost, silentLogger, type HostOptions } from "../../mesh/host/index.ts";
import { createNatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import { natsUrl } from "../support/servers.ts";
import type { ServiceRegistration } from "../../mesh/engine/index.ts";
import { createTestServiceImpl, testServiceRegistration, ECHO_INITIAL, ECHO_TRAILING_BIN } from "../support/test-service.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import type { EchoStatus, ResponseParameters } from "../../gen/weft/testing/v1/test_pb.ts";

/** The request size limit the Weft server runs with in the matrix (message at the limit passes). */
export const MATRIX_READ_MAX_BYTES = 512 * 1024;

export interface RunningServer {
  readonly name: string;
  readonly url: string;
  /** An HTTP/1.1 URL for the same server, when it has one. */
  readonly url1?: string;
  /** Which server-side features the cases may rely on. */
  readonly limits: boolean;
  readonly details: boolean;
  /** The NATS connection its clients use (Connect over NATS only; `url` is then `nats:<subject>`). */
  readonly nc?: NatsConnection;
  close(): Promise<void>;
}

/** A Weft host on 127.0.0.1 and an ephemeral port serving `services`; `options` as createHost's. */
export async function startHost(
  services: readonly ServiceRegistration[],
  options: HostOptions = {},
): Promise<{ url: string; port: number; readonly inFlight: number; close(): Promise<void> }> {
  const host = createHost({ port: 0, logger: silentLogger, ...options });
  for (const { service, impl } of services) host.register(service, impl);
  const { url, port } = await host.listen();
  return {
    url,
    port,
    /** Calls the host is running now (to act once a call has reached it, not after a guessed delay). */
    get inFlight() {
      return host.inFlight;
    },
    close: () => host.close(),
  };
}

export async function startWeft(): Promise<RunningServer> {
  const s = await startHost([testServiceRegistration()], { readMaxBytes: MATRIX_READ_MAX_BYTES, jsonReadMaxBytes: MATRIX_READ_MAX_BYTES, corsAllowedOrigins: ["*"] });
  return { name: "weft", url: s.url, url1: s.url, limits: true, details: true, close: () => s.close() };
}

export async function startConnectNode(): Promise<RunningServer> {
  const adapter = connectNodeAdapter({ routes: (r) => r.service(TestService, createTestServiceImpl({ servedBy: "connect-node" })) });
  const server = http2.createServer(adapter);
  const server1 = http.createServer(adapter);
  await new Promise<void>((r) => server1.listen(0, "127.0.0.1", r));
  const port1 = (server1.address() as { port: number }).port;
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (s) => { sessions.add(s); s.on("close", () => sessions.delete(s)); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    name: "connect-node", url: `http://127.0.0.1:${port}`, url1: `http://127.0.0.1:${port1}`, limits: false, details: true,
    close: async () => {
      server1.closeAllConnections();
      await new Promise<void>((r) => server1.close(() => r()));
      await new Promise<void>((r) => { server.close(() => r()); for (const s of sessions) s.destroy(); });
    },
  };
}

function grpcDef(method: DescMethod): grpc.MethodDefinition<any, any> {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (m: any) => Buffer.from(toBinary(method.input, create(method.input, m))),
    requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
    responseSerialize: (m: any) => Buffer.from(toBinary(method.output, create(method.output, m))),
    responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
  };
}

/** A grpc-js service definition for any protobuf-es service. */
export function grpcServiceDefinition(methods: readonly DescMethod[]): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const m of methods) def[m.name] = grpcDef(m);
  return def as grpc.ServiceDefinition;
}

const zeros = (n: number) => ({ body: new Uint8Array(n) });

export async function startGrpcJs(): Promise<RunningServer> {
  const server = new grpc.Server();
  const echo = (call: { metadata: grpc.Metadata; sendMetadata(m: grpc.Metadata): void }) => {
    const h = new grpc.Metadata();
    const initial = call.metadata.get(ECHO_INITIAL);
    if (initial.length > 0) h.set(ECHO_INITIAL, initial[0]);
    call.sendMetadata(h);
    const t = new grpc.Metadata();
    const trailing = call.metadata.get(ECHO_TRAILING_BIN);
    if (trailing.length > 0) t.set(ECHO_TRAILING_BIN, trailing[0]);
    return t;
  };
  const status = (s: EchoStatus | undefined, trailer: grpc.Metadata) => (s !== undefined && s.code !== 0 ? { code: s.code, details: s.message, metadata: trailer } : undefined);
  const out = (call: grpc.ServerWritableStream<any, any>, params: ResponseParameters[]) => {
    for (const p of params) call.write({ payload: zeros(p.size) });
  };
  server.addService(grpcServiceDefinition(TestService.methods.filter((m) => m.name !== "UnimplementedCall")), {
    EmptyCall: (_c: any, cb: grpc.sendUnaryData<any>) => cb(null, {}),
    UnaryCall: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      const t = echo(call);
      const run = () => {
        const err = status(call.request.responseStatus, t);
        if (err !== undefined) cb(err);
        else cb(null, { payload: zeros(call.request.responseSize), servedBy: "grpc-js" }, t);
      };
      if (call.request.sleepMs > 0) {
        const timer = setTimeout(run, call.request.sleepMs);
        call.on("cancelled", () => clearTimeout(timer));
      } else run();
    },
    StreamingOutputCall: (call: grpc.ServerWritableStream<any, any>) => {
      const t = echo(call);
      out(call, call.request.responseParameters);
      const err = status(call.request.responseStatus, t);
      if (err !== undefined) call.emit("error", err);
      else call.end(t);
    },
    StreamingInputCall: (call: grpc.ServerReadableStream<any, any>, cb: grpc.sendUnaryData<any>) => {
      const t = echo(call);
      let total = 0;
      call.on("data", (m: any) => (total += m.payload?.body.length ?? 0));
      call.on("end", () => cb(null, { aggregatedPayloadSize: total }, t));
    },
    FullDuplexCall: (call: grpc.ServerDuplexStream<any, any>) => {
      const t = echo(call);
      call.on("data", (m: any) => {
        out(call as never, m.responseParameters);
        const err = status(m.responseStatus, t);
        if (err !== undefined) call.emit("error", err);
      });
      call.on("end", () => call.end(t));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { name: "grpc-js", url: `http://127.0.0.1:${port}`, limits: false, details: false, close: async () => { server.forceShutdown(); } };
}

/** Weft's Connect-over-NATS server with the matrix's limits; its clients share its connection. */
export async function startWeftNats(): Promise<RunningServer> {
  const nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  const subject = `weft.t${randomUUID().slice(0, 8)}.rpc.matrix`;
  const { service, impl } = testServiceRegistration();
  const server = createNatsRpcServer({ nc, subject, services: [{ service, impl: impl as never }], readMaxBytes: MATRIX_READ_MAX_BYTES });
  return {
    name: "weft over NATS", url: `nats:${subject}`, limits: true, details: true, nc,
    close: async () => {
      server.close();
      await nc.close();
    },
  };
}
