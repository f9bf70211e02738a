// Deadlines end calls on time, abort the handler, and travel to the next hop as what remains.

import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";

const instances: TestInstance[] = [];
let nc: NatsConnection;
let discovery: NatsDiscovery;
let grpc: MeshClient;
let nats: MeshClient;
let sleeper: TestInstance;
let hop: TestInstance;

beforeAll(async () => {
  const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
  const rpcPrefix = `weft.t${randomUUID().slice(0, 8)}.rpc`;
  const env = { REGISTRY_PREFIX: prefix, NATS_RPC: "1", RPC_PREFIX: rpcPrefix };
  // The "downstream" instance announces under another prefix: the test's clients see only the first.
  const downstream = await startInstance("downstream", { ...env, REGISTRY_PREFIX: `${prefix}.hidden` });
  sleeper = await startInstance("sleeper", { ...env, DOWNSTREAM: `127.0.0.1:${downstream.port}` });
  hop = sleeper;
  instances.push(downstream, sleeper);
  nc = await connect({ servers: "nats://127.0.0.1:4222", noAsyncTraces: true });
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === 1, 3000, "instance up");
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

for (const transport of ["grpc", "nats"] as const) {
  describe(`deadlines over ${transport}`, () => {
    it("a 100 ms deadline against a 1 s handler ends DEADLINE_EXCEEDED on time and aborts the handler", async () => {
      const client = (transport === "grpc" ? grpc : nats).client(TestService);
      const abortedBefore = sleeper.lines.filter((l) => l.startsWith("ABORTED")).length;
      const started = performance.now();
      const err = await client.unaryCall({ sleepMs: 1000 }, { timeoutMs: 100 }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      const elapsed = performance.now() - started;
      expect(err?.code).toBe(Code.DeadlineExceeded);
      await until(() => sleeper.lines.filter((l) => l.startsWith("ABORTED")).length > abortedBefore, 1000, "handler signal");
      const handlerMs = Number(sleeper.lines.filter((l) => l.startsWith("ABORTED")).at(-1)!.split(" ")[1]);
      console.log(`${transport}: deadline error after ${elapsed.toFixed(1)} ms; handler aborted after ${handlerMs} ms`);
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(150);
      expect(handlerMs).toBeLessThan(150);
    });

    it("the next hop sees the remaining deadline", async () => {
      const client = (transport === "grpc" ? grpc : nats).client(TestService);
      const res = await client.unaryCall({ payload: { body: new TextEncoder().encode("hop") } }, { timeoutMs: 500 });
      const m = /^timeout=(\d+)$/.exec(res.servedBy);
      expect(m, res.servedBy).not.toBeNull();
      const seen = Number(m![1]);
      console.log(`${transport}: 500 ms deadline; the next hop saw ${seen} ms`);
      expect(seen).toBeLessThanOrEqual(500);
      expect(seen).toBeGreaterThan(300);
      expect(hop.instanceId).toBe("sleeper");
    });
  });
}
