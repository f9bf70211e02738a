// The asynchronous admission of a call hook (ServerCallHooks.admit, what a Redis rate limit needs)
// works alike on every engine and transport: the handler runs only once the admission resolves, a
// rejected admission refuses the call with its own error and code (handler never run, end called with
// it), on unary and streaming calls, over gRPC and Connect, in-process and Connect over NATS.

import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { NO_LOAD, type EndpointSource } from "../../mesh/discovery/index.ts";
import { connectNodeEngine, createHost, silentLogger, type ServerCallHooks } from "../../mesh/host/index.ts";
import { createNatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";
import { createWeftConnectTransport, createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { natsUrl } from "../support/servers.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Hooks that admit after a timer, refusing calls that ask for it; and what happened, in order. */
function admittingHooks(events: string[]): ServerCallHooks {
  return {
    begin(_service, context) {
      return context.requestHeader.get("x-admit") ?? "yes";
    },
    admit(token) {
      events.push(`admit ${String(token)}`);
      return new Promise<void>((resolve, reject) =>
        setTimeout(() => (token === "no" ? reject(new ConnectError("slow down", Code.ResourceExhausted)) : resolve()), 5),
      );
    },
    end(token, error) {
      events.push(`end ${String(token)} ${error === undefined ? "ok" : Code[error.code]}`);
    },
  };
}

function impl(events: string[]) {
  return {
    unaryCall: () => {
      events.push("handler unary");
      return { servedBy: "handler" };
    },
    async *streamingOutputCall() {
      events.push("handler stream");
      yield { payload: { body: new Uint8Array(1) } };
    },
  };
}

/** Runs the same three calls through `transport` and checks what the hook and handlers saw. */
async function exercise(transport: Transport, events: string[], streaming = true): Promise<void> {
  const client = createClient(TestService, transport);
  expect((await client.unaryCall({})).servedBy).toBe("handler");
  const refused = await client.unaryCall({}, { headers: { "x-admit": "no" } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
  expect(refused?.code).toBe(Code.ResourceExhausted);
  expect(refused?.rawMessage).toBe("slow down");
  const expected = ["admit yes", "handler unary", "end yes ok", "admit no", "end no ResourceExhausted"];
  if (streaming) {
    let n = 0;
    for await (const _ of client.streamingOutputCall({ responseParameters: [{ size: 1 }] })) n++;
    expect(n).toBe(1);
    const streamRefused = await (async () => {
      for await (const _ of client.streamingOutputCall({}, { headers: { "x-admit": "no" } }));
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(streamRefused?.code).toBe(Code.ResourceExhausted);
    expected.push("admit yes", "handler stream", "end yes ok", "admit no", "end no ResourceExhausted");
  }
  // end runs when the response is done; let the last one land.
  for (let i = 0; i < 100 && events.length < expected.length; i++) await new Promise((r) => setTimeout(r, 10));
  expect(events).toEqual(expected);
}

describe("call hooks: asynchronous admission", () => {
  for (const [name, engine] of [["weft", createWeftEngine()], ["connect-node", connectNodeEngine]] as const) {
    for (const protocol of ["grpc", "connect"] as const) {
      it(`${name} engine over ${protocol}`, async () => {
        const events: string[] = [];
        const host = createHost({ port: 0, engine, logger: silentLogger, callHooks: [admittingHooks(events)] });
        host.register(TestService, impl(events) as never);
        const { port } = await host.listen();
        cleanups.push(() => host.close());
        const baseUrl = `http://127.0.0.1:${port}`;
        await exercise(protocol === "grpc" ? createWeftGrpcTransport({ baseUrl, idleTimeoutMs: 0 }) : createWeftConnectTransport({ baseUrl }), events);
      });
    }
  }

  it("in-process transport", async () => {
    const events: string[] = [];
    const host = createHost({ port: 0, logger: silentLogger, callHooks: [admittingHooks(events)] });
    host.register(TestService, impl(events) as never);
    cleanups.push(() => host.close());
    await exercise(host.inProcessTransport(), events);
  });

  it("Connect over NATS", async () => {
    const events: string[] = [];
    const nc: NatsConnection = await connect({ servers: natsUrl(), noAsyncTraces: true });
    const natsSubject = `weft.t${randomUUID().slice(0, 8)}.rpc.admit`;
    const server = createNatsRpcServer({ nc, subject: natsSubject, callHooks: [admittingHooks(events)], services: [{ service: TestService, impl: impl(events) as never }] });
    const endpoint = { instanceId: "admit", services: [TestService.typeName], address: "", natsSubject, version: "", ready: true, load: NO_LOAD };
    const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
    const mesh = createMeshClient({ discovery: source, nc, defaultTransport: "nats", retry: false });
    cleanups.push(() => nc.close(), () => server.close(), () => mesh.close());
    const client = mesh.client(TestService);
    expect((await client.unaryCall({})).servedBy).toBe("handler");
    const refused = await client.unaryCall({}, { headers: { "x-admit": "no" } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    for (let i = 0; i < 100 && events.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(["admit yes", "handler unary", "end yes ok", "admit no", "end no ResourceExhausted"]);
  });
});
