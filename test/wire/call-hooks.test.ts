// Host call hooks as every engine (and the in-process transport) applies them: begin before the handler
// (a throw refuses the call and the handler never runs), end exactly once with the call's error, the
// handler inside the hooks' scope, deferred starts, and no hooks for the host's own services.

import { AsyncLocalStorage } from "node:async_hooks";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { createHost, type CallHookContext, type ServerCallHooks } from "../../mesh/host/index.ts";
import { engines } from "./engines.ts";
import { capturingLogger, TestService } from "./harness.ts";

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => ConnectError.from(e));

function recordingHooks(events: string[], scope: AsyncLocalStorage<string>): ServerCallHooks {
  let n = 0;
  return {
    begin(service, context) {
      const id = `${context.method.name}#${++n}`;
      events.push(`begin ${service.typeName.split(".").pop()} ${id}`);
      if (context.requestHeader.get("x-refuse") === "yes") throw new ConnectError("refused by hook", Code.ResourceExhausted);
      return id;
    },
    end(token, error) {
      events.push(`end ${String(token)} ${error === undefined ? "ok" : Code[error.code]}`);
    },
    scope(_context, fn, ...args) {
      return scope.run("in-scope", fn, ...args);
    },
    defer(token) {
      return String(token).startsWith("UnaryCall");
    },
  };
}

for (const engine of engines) {
  describe(`call hooks [${engine.name}]`, () => {
    it("begin, scope, defer and end around calls; a refusal skips the handler; the host's own services are not hooked", async () => {
      const events: string[] = [];
      const store = new AsyncLocalStorage<string>();
      const host = createHost({ port: 0, engine, logger: capturingLogger(), callHooks: [recordingHooks(events, store)] });
      const handled: string[] = [];
      host.register(TestService, {
        unaryCall(request) {
          handled.push(`unary ${store.getStore()}`);
          if (request.responseSize === 7) throw new ConnectError("no", Code.NotFound);
          return {};
        },
        emptyCall() {
          handled.push(`empty ${store.getStore()}`);
          return {};
        },
      });
      const { url } = await host.listen();
      try {
        const client = createClient(TestService, createGrpcTransport({ baseUrl: url }));
        await client.emptyCall({});
        await client.unaryCall({});
        expect((await failure(client.unaryCall({ responseSize: 7 })))?.code).toBe(Code.NotFound);
        const refused = await failure(client.emptyCall({}, { headers: { "x-refuse": "yes" } }));
        expect(refused?.code).toBe(Code.ResourceExhausted);
        await createClient(Health, createGrpcTransport({ baseUrl: url })).check({});
        expect(handled).toEqual(["empty in-scope", "unary in-scope", "unary in-scope"]);
        await expect.poll(() => events.length).toBe(7);
        expect(events).toEqual([
          "begin TestService EmptyCall#1",
          "end EmptyCall#1 ok",
          "begin TestService UnaryCall#2",
          "end UnaryCall#2 ok",
          "begin TestService UnaryCall#3",
          "end UnaryCall#3 NotFound",
          "begin TestService EmptyCall#4",
        ]);
        expect(host.inFlight).toBe(0);
      } finally {
        await host.close();
      }
    });
  });
}

/** A hook that records what it sees of each call and answers with a header and a trailer. */
function seeingHook(seen: string[]): ServerCallHooks {
  return {
    begin(_service, context: CallHookContext) {
      seen.push(`${context.protocolName} ${context.method.name} x-tenant=${context.requestHeader.get("x-tenant")} peer=${context.peerAddress ?? "?"}`);
      context.responseHeader.set("x-hook", "header");
      context.responseTrailer.set("x-hook-trailer", "trailer");
    },
  };
}

for (const engine of engines) {
  describe(`call hook context [${engine.name}]`, () => {
    it("shows the protocol, request headers and peer, and lets a hook answer with headers and trailers", async () => {
      const seen: string[] = [];
      const host = createHost({ port: 0, engine, logger: capturingLogger(), callHooks: [seeingHook(seen)] });
      host.register(TestService, { emptyCall: () => ({}) });
      const { url } = await host.listen();
      try {
        for (const transport of [createGrpcTransport({ baseUrl: url }), createConnectTransport({ baseUrl: url, httpVersion: "1.1" })]) {
          let header: Headers | undefined;
          let trailer: Headers | undefined;
          await createClient(TestService, transport).emptyCall({}, { headers: { "x-tenant": "t1" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
          expect(header?.get("x-hook")).toBe("header");
          expect(trailer?.get("x-hook-trailer")).toBe("trailer");
        }
        // connect-node's adapter does not show interceptors the socket: the peer is unknown there.
        const peer = engine.name === "connect-node" ? "?" : "127.0.0.1";
        expect(seen).toEqual([`grpc EmptyCall x-tenant=t1 peer=${peer}`, `connect EmptyCall x-tenant=t1 peer=${peer}`]);
      } finally {
        await host.close();
      }
    });
  });
}

describe("call hooks [in-process transport]", () => {
  it("runs the same hooks for in-process calls", async () => {
    const events: string[] = [];
    const store = new AsyncLocalStorage<string>();
    const host = createHost({ port: 0, logger: capturingLogger(), callHooks: [recordingHooks(events, store)] });
    host.register(TestService, { emptyCall: () => ({ }), unaryCall: () => ({ servedBy: store.getStore() }) });
    const client = createClient(TestService, host.inProcessTransport());
    expect((await client.unaryCall({})).servedBy).toBe("in-scope");
    expect((await failure(client.emptyCall({}, { headers: { "x-refuse": "yes" } })))?.code).toBe(Code.ResourceExhausted);
    expect(events).toEqual(["begin TestService UnaryCall#1", "end UnaryCall#1 ok", "begin TestService EmptyCall#2"]);
    expect(host.inFlight).toBe(0);
  });

  it("shows the hook the in-process protocol and request headers, and takes its response headers", async () => {
    const seen: string[] = [];
    const host = createHost({ port: 0, logger: capturingLogger(), callHooks: [seeingHook(seen)] });
    host.register(TestService, { emptyCall: () => ({}) });
    let header: Headers | undefined;
    await createClient(TestService, host.inProcessTransport()).emptyCall({}, { headers: { "x-tenant": "t2" }, onHeader: (h) => (header = h) });
    expect(seen).toEqual(["in-process EmptyCall x-tenant=t2 peer=?"]);
    expect(header?.get("x-hook")).toBe("header");
  });
});
