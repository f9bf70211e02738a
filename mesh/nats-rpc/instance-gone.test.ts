// An instance that discovery drops without a leave (its heartbeats stopped): on a busy machine it may
// only be late, so its calls in flight get a grace to answer before they fail UNAVAILABLE; a dead one's
// calls fail after that grace rather than at their deadline.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService, type UnaryCallRequest } from "../../gen/weft/testing/v1/test_pb.ts";
import { NO_LOAD, type DiscoveryEvent, type Endpoint, type EndpointSource } from "../discovery/index.ts";
import { createMeshClient, type MeshClient } from "../client/index.ts";
import { createNatsRpcServer, type NatsRpcServer } from "./index.ts";
import { natsUrl } from "../../test/support/servers.ts";

let nc: NatsConnection;
let server: NatsRpcServer;
let mesh: MeshClient;
let endpoint: Endpoint;
const listeners = new Set<(e: DiscoveryEvent) => void>();
let present = true;

beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  const natsSubject = `weft.t${randomUUID().slice(0, 8)}.rpc.gone`;
  // UnaryCall answers after the number of milliseconds in its payload's text; "never" never answers.
  server = createNatsRpcServer({
    nc,
    subject: natsSubject,
    services: [{
      service: TestService,
      impl: {
        async unaryCall(req: UnaryCallRequest) {
          const text = new TextDecoder().decode(req.payload?.body);
          await (text === "never" ? new Promise(() => {}) : sleep(Number(text)));
          return { payload: { body: req.payload?.body } };
        },
      } as never,
    }],
  });
  endpoint = { instanceId: "gone-1", services: [TestService.typeName], address: "", natsSubject, version: "", ready: true, load: NO_LOAD };
  const source: EndpointSource = {
    endpoints: () => (present ? [endpoint] : []),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    ready: async () => {},
    close: async () => {},
  };
  mesh = createMeshClient({ discovery: source, nc, defaultTransport: "nats", retry: false });
});

afterAll(async () => {
  mesh?.close();
  server?.close();
  await nc?.close();
});

/** What NATS discovery does when an instance's heartbeats stop: "down", expired. */
function expire(): void {
  present = false;
  for (const l of listeners) l({ type: "down", endpoint, reason: "expired" });
}

function call(text: string, timeoutMs: number) {
  return mesh.client(TestService).unaryCall({ payload: { body: new TextEncoder().encode(text) } }, { timeoutMs });
}

describe("calls to an instance that discovery dropped without a leave", () => {
  it("a late instance's answer still arrives within the grace; a silent one's call fails UNAVAILABLE after it, long before its deadline", async () => {
    present = true;
    const late = call("600", 20_000);
    const silent = call("never", 20_000).then(() => undefined, (e: unknown) => ConnectError.from(e));
    await sleep(100); // both requests are with the handler
    const dropped = performance.now();
    expire();
    expect(new TextDecoder().decode((await late).payload?.body)).toBe("600");
    const err = await silent;
    const after = performance.now() - dropped;
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toBe("the instance went away during the call");
    expect(after).toBeGreaterThanOrEqual(1_900); // the grace (2 s), not at once
    expect(after).toBeLessThan(15_000); // and not the 20 s deadline
  });
});
