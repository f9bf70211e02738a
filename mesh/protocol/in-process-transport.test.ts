// The host's in-process transport: the same behaviour as a call over the network (codes, metadata,
// deadlines, cancellation, interceptors, drain accounting), without a wire protocol.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { UnaryCallResponseSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { createHost, type Host } from "../host/index.ts";
import { silentLogger } from "../engine/index.ts";
import { TestService } from "../../test/support/test-service.ts";

const hosts: Host[] = [];
function newHost(options: Parameters<typeof createHost>[0] = {}): Host {
  const host = createHost({ port: 0, logger: silentLogger, ...options });
  hosts.push(host);
  return host;
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => ConnectError.from(e));

describe("in-process transport", () => {
  it("keeps error codes, messages and metadata, and hides unexpected errors", async () => {
    const host = newHost().register(TestService, {
      unaryCall(request) {
        if (request.responseSize === 1) throw new ConnectError("no such thing", Code.NotFound, { "x-why": "gone" });
        throw new Error("database password is hunter2");
      },
    });
    const client = createClient(TestService, host.inProcessTransport());
    const notFound = await failure(client.unaryCall({ responseSize: 1 }));
    expect(notFound?.code).toBe(Code.NotFound);
    expect(notFound?.rawMessage).toBe("no such thing");
    expect(notFound?.metadata.get("x-why")).toBe("gone");
    const internal = await failure(client.unaryCall({ responseSize: 2 }));
    expect(internal?.code).toBe(Code.Internal);
    expect(internal?.rawMessage).toBe("internal error");
    expect(await failure(client.emptyCall({}))).toMatchObject({ code: Code.Unimplemented });
  });

  it("hands each side its own copy of every message", async () => {
    const kept = create(UnaryCallResponseSchema, { servedBy: "original" });
    let received: { servedBy?: string } | undefined;
    const host = newHost().register(TestService, {
      unaryCall(request) {
        received = request as never;
        request.responseSize = 99; // must not reach the caller's object
        return kept;
      },
    });
    const client = createClient(TestService, host.inProcessTransport());
    const request = { $typeName: "weft.testing.v1.UnaryCallRequest", responseSize: 1, sleepMs: 0 } as const;
    const response = await client.unaryCall(request);
    expect(request.responseSize).toBe(1);
    expect(received).toBeDefined();
    response.servedBy = "changed by the caller";
    expect(kept.servedBy).toBe("original");
  });

  it("passes headers both ways and runs the host's interceptors", async () => {
    const seen: string[] = [];
    const interceptor: Interceptor = (next) => async (req) => {
      seen.push(`${req.method.name} ${req.header.get("x-caller")}`);
      return next(req);
    };
    const host = newHost({ interceptors: [interceptor] }).register(TestService, {
      unaryCall(_request, context: HandlerContext) {
        context.responseHeader.set("x-answer", context.requestHeader.get("x-caller") ?? "none");
        context.responseTrailer.set("x-trailer", "t");
        return { servedBy: context.protocolName };
      },
    });
    const client = createClient(TestService, host.inProcessTransport());
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const response = await client.unaryCall({}, { headers: { "x-caller": "gateway" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    expect(response.servedBy).toBe("in-process");
    expect(header?.get("x-answer")).toBe("gateway");
    expect(trailer?.get("x-trailer")).toBe("t");
    expect(seen).toEqual(["UnaryCall gateway"]);
  });

  it("ends a call at its deadline with DEADLINE_EXCEEDED and aborts the handler's signal; cancellation too", async () => {
    const aborted: unknown[] = [];
    const host = newHost().register(TestService, {
      async unaryCall(_request, context: HandlerContext) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5_000);
          context.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            aborted.push(ConnectError.from(context.signal.reason).code);
            resolve();
          });
        });
        return {};
      },
    });
    const client = createClient(TestService, host.inProcessTransport());
    const t0 = performance.now();
    const late = await failure(client.unaryCall({}, { timeoutMs: 100 }));
    expect(late?.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - t0).toBeLessThan(2_000);
    const ac = new AbortController();
    const cancelled = failure(client.unaryCall({}, { signal: ac.signal }));
    await expect.poll(() => host.inFlight).toBe(1);
    ac.abort();
    expect((await cancelled)?.code).toBe(Code.Canceled);
    expect(aborted).toEqual([Code.DeadlineExceeded, Code.Canceled]);
    expect(host.inFlight).toBe(0);
  });

  it("streams both ways and counts a call in flight until its stream ends, even while draining", async () => {
    const host = newHost().register(TestService, {
      async *streamingOutputCall(request) {
        for (const p of request.responseParameters) yield { payload: { body: new Uint8Array(p.size) } };
      },
      async *fullDuplexCall(requests) {
        for await (const r of requests) yield { payload: { body: new Uint8Array(r.responseParameters[0]?.size ?? 0) } };
      },
      async streamingInputCall(requests) {
        let sum = 0;
        for await (const r of requests) sum += r.payload?.body.length ?? 0;
        return { aggregatedPayloadSize: sum };
      },
    });
    const client = createClient(TestService, host.inProcessTransport());
    const sizes: number[] = [];
    const stream = client.streamingOutputCall({ responseParameters: [{ size: 1 }, { size: 2 }, { size: 3 }] });
    for await (const m of stream) {
      sizes.push(m.payload?.body.length ?? -1);
      expect(host.inFlight).toBe(1);
    }
    expect(sizes).toEqual([1, 2, 3]);
    expect(host.inFlight).toBe(0);
    async function* requests() {
      for (const size of [4, 5]) yield { responseParameters: [{ size }], payload: { body: new Uint8Array(size) } };
    }
    const echoed: number[] = [];
    for await (const m of client.fullDuplexCall(requests())) echoed.push(m.payload?.body.length ?? -1);
    expect(echoed).toEqual([4, 5]);
    expect((await client.streamingInputCall(requests())).aggregatedPayloadSize).toBe(9);
    // In-process calls are made for calls already admitted: a drain does not refuse them.
    await host.listen();
    const drained = host.drain();
    await expect.poll(() => host.draining).toBe(true);
    expect((await failure(client.streamingInputCall(requests())))).toBeUndefined();
    await drained;
  });
});
