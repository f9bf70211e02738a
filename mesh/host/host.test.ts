import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { createTestServiceImpl, TestService } from "../../test/support/test-service.ts";
import { HostError, HostErrorCode } from "./errors.ts";
import { createHost, type Host } from "./host.ts";
import { silentLogger } from "../engine/index.ts";

const hosts: Host[] = [];
function newHost(options: Parameters<typeof createHost>[0] = {}): Host {
  const host = createHost({ port: 0, logger: silentLogger, ...options });
  hosts.push(host);
  return host;
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as HostError).code;
  }
  return undefined;
}

describe("createHost: life cycle errors", () => {
  it("refuses duplicate and reserved services, and registration after listen", async () => {
    const host = newHost().register(TestService, createTestServiceImpl());
    expect(codeOf(() => host.register(TestService, {}))).toBe(HostErrorCode.duplicateService);
    expect(codeOf(() => host.register(Health, {}))).toBe(HostErrorCode.duplicateService);
    expect(codeOf(() => host.register({} as never, {}))).toBe(HostErrorCode.options);
    await host.listen();
    expect(codeOf(() => host.register(Health, {}))).toBe(HostErrorCode.state);
    await expect(host.listen()).rejects.toMatchObject({ code: HostErrorCode.state });
  });

  it("reports a port in use as WEFT_ERR_HOST_LISTEN", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const err = await newHost({ port }).listen().catch((e: HostError) => e);
      expect(err).toBeInstanceOf(HostError);
      expect((err as HostError).code).toBe("WEFT_ERR_HOST_LISTEN");
    } finally {
      blocker.close();
    }
  });

  it("refuses a health status for a service it does not serve", () => {
    const host = newHost().register(TestService, {});
    expect(codeOf(() => host.health.set("no.Such", "SERVING"))).toBe(HostErrorCode.unknownService);
    host.health.set("weft.testing.v1.TestService", "NOT_SERVING");
    expect(host.health.get("weft.testing.v1.TestService")).toBe("NOT_SERVING");
  });
});

describe("inProcessTransport", () => {
  it("calls services in memory through the same interceptors, with unexpected errors hidden", async () => {
    const seen: string[] = [];
    const interceptor: Interceptor = (next) => async (req) => {
      seen.push(req.method.name);
      return next(req);
    };
    const host = newHost({ interceptors: [interceptor] });
    // The transport may be handed out before services are registered (wiring order in main files).
    const client = createClient(TestService, host.inProcessTransport());
    host.register(TestService, createTestServiceImpl({ servedBy: "memory" }));
    expect((await client.unaryCall({ responseSize: 2 })).servedBy).toBe("memory");
    const err = await client.unaryCall({ payload: { body: new TextEncoder().encode("weft:throw-plain-error") } }).then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Internal);
    expect(err?.rawMessage).toBe("internal error");
    // Registration is sealed once the in-process router is built.
    expect(codeOf(() => host.register(Health, {}))).toBe(HostErrorCode.state);
    // The same interceptor also runs for network calls.
    const { url } = await host.listen();
    await createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).emptyCall({});
    expect(seen).toEqual(["UnaryCall", "UnaryCall", "EmptyCall"]);
  });
});

describe("drain", () => {
  it("runs user hooks after the built-in step of their phase, and counts streaming calls until they end", async () => {
    const host = newHost({ drainGraceMs: 5_000 }).register(TestService, createTestServiceImpl());
    const { url } = await host.listen();
    const client = createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    const observed: string[] = [];
    host.onDrain("announce", "observe-announce", () => void observed.push(`announce draining=${host.draining} health=${host.health.get("")}`));
    host.onDrain("refuse", "observe-refuse", () => void observed.push(`refuse draining=${host.draining}`));
    host.onDrain("settle", "observe-settle", () => void observed.push(`settle inFlight=${host.inFlight}`));

    const stream = client.streamingOutputCall({ responseParameters: [{ size: 1 }, { size: 1, intervalUs: 400_000 }] });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    expect(host.inFlight).toBe(1);
    const drained = host.drain();
    expect(host.drain()).toBe(drained);
    const rest: number[] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value.payload?.body.length ?? -1);
    await drained;
    expect(rest).toEqual([1]);
    expect(observed).toEqual(["announce draining=false health=NOT_SERVING", "refuse draining=true", "settle inFlight=0"]);
  });

  it("aborts calls still running when drainGraceMs is over, with UNAVAILABLE", async () => {
    const host = newHost({ drainGraceMs: 150 }).register(TestService, createTestServiceImpl());
    const { url } = await host.listen();
    const client = createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const slow = client.unaryCall({ sleepMs: 10_000 }).catch((e) => ConnectError.from(e));
    await expect.poll(() => host.inFlight).toBe(1);
    const t0 = performance.now();
    await host.drain();
    expect(performance.now() - t0).toBeLessThan(3_000);
    const err = await slow;
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
  });
});
