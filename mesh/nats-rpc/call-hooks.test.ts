// The NATS RPC server runs call hooks as the host does (mesh/engine ServerCallHooks): begin after the
// request is decoded (a throw refuses the call, the handler never runs), the handler inside the scope,
// a deferred start, end exactly once with the call's error, and what the hook sees of the call.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { NO_LOAD, type EndpointSource } from "../discovery/index.ts";
import { isRefusal, refusedError, type ServerCallHooks } from "../engine/index.ts";
import { createMeshClient, type MeshClient } from "../client/index.ts";
import { createNatsRpcServer, type NatsRpcServer } from "./index.ts";
import { natsUrl } from "../../test/support/servers.ts";

let nc: NatsConnection;
let server: NatsRpcServer;
let mesh: MeshClient;
const events: string[] = [];
const store = new AsyncLocalStorage<string>();

const hooks: ServerCallHooks = {
  begin(service, context) {
    events.push(`begin ${context.protocolName} ${service.typeName.split(".").pop()}.${context.method.name} tenant=${context.requestHeader.get("x-tenant")}`);
    if (context.requestHeader.get("x-refuse") === "yes") throw refusedError("overloaded");
    context.responseHeader.set("x-hook", "nats");
    return context.method.name;
  },
  end(token, error) {
    events.push(`end ${String(token)} ${error === undefined ? "ok" : Code[error.code]}`);
  },
  scope(_context, fn, ...args) {
    return store.run("in-scope", fn, ...args);
  },
  defer(token) {
    return token === "EmptyCall";
  },
};

beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  const natsSubject = `weft.t${randomUUID().slice(0, 8)}.rpc.hooks`;
  server = createNatsRpcServer({
    nc,
    subject: natsSubject,
    callHooks: [hooks],
    services: [{
      service: TestService,
      impl: {
        unaryCall: (req: { responseSize: number }) => {
          if (req.responseSize === 7) throw new ConnectError("no", Code.NotFound);
          return { servedBy: store.getStore() };
        },
        emptyCall: () => ({}),
      } as never,
    }],
  });
  const endpoint = { instanceId: "hooks", services: [TestService.typeName], address: "", natsSubject, version: "", ready: true, load: NO_LOAD };
  const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
  mesh = createMeshClient({ discovery: source, nc, defaultTransport: "nats", retry: false });
});

afterAll(async () => {
  mesh?.close();
  server?.close();
  await nc?.close();
});

describe("call hooks over NATS", () => {
  it("begin, scope, defer and end around calls; a refusal skips the handler; hooks see the call and answer headers", async () => {
    const client = mesh.client(TestService);
    let header: Headers | undefined;
    expect((await client.unaryCall({}, { headers: { "x-tenant": "t1" }, onHeader: (h) => (header = h) })).servedBy).toBe("in-scope");
    expect(header?.get("x-hook")).toBe("nats");
    await client.emptyCall({});
    const notFound = await client.unaryCall({ responseSize: 7 }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(notFound?.code).toBe(Code.NotFound);
    const refused = await client.unaryCall({}, { headers: { "x-refuse": "yes" } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(isRefusal(refused)).toBe(true);
    expect(events).toEqual([
      "begin nats TestService.UnaryCall tenant=t1",
      "end UnaryCall ok",
      "begin nats TestService.EmptyCall tenant=null",
      "end EmptyCall ok",
      "begin nats TestService.UnaryCall tenant=null",
      "end UnaryCall NotFound",
      "begin nats TestService.UnaryCall tenant=null",
    ]);
    expect(server.inFlight).toBe(0);
  });
});
