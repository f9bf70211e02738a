// Deadlines end calls on time, abort the handler, and travel to the next hop as what remains.

import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { TestService, UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { grpcFrame, rawH2Request } from "../wire/harness.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const instances: TestInstance[] = [];
let nc: NatsConnection;
let discovery: NatsDiscovery;
let grpc: MeshClient;
let nats: MeshClient;
let sleeper: TestInstance;

beforeAll(async () => {
  const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
  const rpcPrefix = `weft.t${randomUUID().slice(0, 8)}.rpc`;
  const env = { MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: rpcPrefix };
  // The "downstream" instance announces under another prefix: the test's clients see only the first.
  const downstream = await startInstance("downstream", { ...env, MESH_REGISTRY_PREFIX: `${prefix}.hidden` });
  sleeper = await startInstance("sleeper", { ...env, DOWNSTREAM: `127.0.0.1:${downstream.port}` });
  instances.push(downstream, sleeper);
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === 1, 15_000, "instance up");
  grpc = createMeshClient({ discovery });
  nats = createMeshClient({ discovery, nc, defaultTransport: "nats" });
  // Warm the connections so the deadline measures the call, not the connect.
  await grpc.client(TestService).emptyCall({});
  await nats.client(TestService).emptyCall({});
});

afterAll(async () => {
  grpc?.close();
  nats?.close();
  await discovery?.close();
  await nc?.close();
  await Promise.all(instances.map((i) => stop(i.proc)));
});

// The mesh client cancels at its own deadline; here a bare HTTP/2 client sends grpc-timeout and never
// cancels, so only the server's enforcement of the deadline can end the call and abort the handler.
describe("deadlines enforced by the server", () => {
  it("answers DEADLINE_EXCEEDED on its own and aborts the handler for the deadline", async () => {
    const from = sleeper.lines.length;
    const body = grpcFrame(toBinary(UnaryCallRequestSchema, create(UnaryCallRequestSchema, { sleepMs: 5000 })));
    const res = await rawH2Request(
      `http://127.0.0.1:${sleeper.port}`,
      { ":path": "/weft.testing.v1.TestService/UnaryCall", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "100m" },
      body,
    );
    expect(String(res.trailers?.["grpc-status"] ?? res.headers["grpc-status"])).toBe(String(Code.DeadlineExceeded));
    await until(() => linesOf(sleeper, "ABORTED", from).length > 0, 5000, "handler signal");
    expect(linesOf(sleeper, "ABORTED", from)[0].split(" ")[2]).toBe("DeadlineExceeded");
  });
});

/** Lines of `instance` starting with `word`, from index `from` on. */
const linesOf = (instance: TestInstance, word: string, from = 0) => instance.lines.slice(from).filter((l) => l.startsWith(`${word} `));

// What is asserted is what the code controls: the error code, the deadline the server saw, and that the
// handler's signal fired for the deadline; wall time only as a lower bound (a deadline never ends a
// call early), since a loaded machine can only make it later.
for (const transport of ["grpc", "nats"] as const) {
  describe(`deadlines over ${transport}`, () => {
    it("a 100 ms deadline against a 1 s handler ends DEADLINE_EXCEEDED, the server sees it, and the handler is aborted", async () => {
      const client = (transport === "grpc" ? grpc : nats).client(TestService);
      const from = sleeper.lines.length;
      const started = performance.now();
      const err = await client.unaryCall({ sleepMs: 1000 }, { timeoutMs: 100 }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      const elapsed = performance.now() - started;
      expect(err?.code).toBe(Code.DeadlineExceeded);
      expect(elapsed).toBeGreaterThanOrEqual(95);
      const seen = linesOf(sleeper, "DEADLINE", from).map((l) => l.split(" ")[1]);
      expect(seen).toHaveLength(1);
      expect(Number(seen[0])).toBeGreaterThan(0);
      expect(Number(seen[0])).toBeLessThanOrEqual(100);
      await until(() => linesOf(sleeper, "ABORTED", from).length > 0, 5000, "handler signal");
      const [, handlerMs, reason] = linesOf(sleeper, "ABORTED", from)[0].split(" ");
      console.log(`${transport}: deadline error after ${elapsed.toFixed(1)} ms; server saw ${seen[0]} ms; handler aborted after ${handlerMs} ms (${reason})`);
      // Aborted at the deadline: by the server's own timer, or by the client's cancel when its timer
      // fires first (the two race by the transit time); never at the end of a handler that ran 1 s.
      expect(["DeadlineExceeded", "Canceled"]).toContain(reason);
      expect(Number(handlerMs)).toBeLessThan(1000);
    });

    it("the next hop sees what remains of the deadline", async () => {
      const client = (transport === "grpc" ? grpc : nats).client(TestService);
      const from = sleeper.lines.length;
      const res = await client.unaryCall({ payload: { body: new TextEncoder().encode("hop") } }, { timeoutMs: 500 });
      const m = /^timeout=(\d+)$/.exec(res.servedBy);
      expect(m, res.servedBy).not.toBeNull();
      const hopSaw = Number(m![1]);
      const firstSaw = Number(linesOf(sleeper, "DEADLINE", from)[0]?.split(" ")[1]);
      console.log(`${transport}: 500 ms deadline; the first hop saw ${firstSaw} ms, the next ${hopSaw} ms`);
      expect(firstSaw).toBeLessThanOrEqual(500);
      expect(hopSaw).toBeGreaterThan(0);
      // Propagated, not restarted: never more than the first hop had. (Not "< 500": deadlines travel in
      // whole milliseconds, and a hop made within a millisecond of arrival rounds back up to 500.)
      expect(hopSaw).toBeLessThanOrEqual(firstSaw);
    });
  });
}
