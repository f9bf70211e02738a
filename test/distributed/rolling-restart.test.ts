// Rolling restart: every instance is drained (SIGTERM) and replaced, one by one, under steady load of
// non-idempotent calls: 0 failed calls, no duplicate side effect.

import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery } from "../../mesh/discovery/index.ts";
import { duplicateSideEffects, runLoad } from "./fixtures/load.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const all: TestInstance[] = [];
let nc: NatsConnection | undefined;

afterAll(async () => {
  await Promise.all(all.map((i) => stop(i.proc)));
  await nc?.close();
});

describe("rolling restart", () => {
  // With no grace between the leave and the refusals, calls already routed to a draining instance are
  // refused and must be retried elsewhere: the refusal path is exercised, not only the leave. With the
  // default grace (200 ms, MESH_LEAVE_GRACE_MS unset) the leave has time to reach the clients first.
  // Instances are wired by mesh/node as the shop's main files are (the host's own drain and refusal).
  for (const [transport, graceMs] of [["grpc", "0"], ["nats", "0"], ["grpc", "default"]] as const) {
    it(`restarts every instance under steady load with 0 failed calls (${transport}, leave grace ${graceMs === "default" ? "default 200" : graceMs} ms)`, async () => {
      const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
      const rpcPrefix = `weft.t${randomUUID().slice(0, 8)}.rpc`;
      const env: Record<string, string> = {
        MESH_REGISTRY_PREFIX: prefix,
        MESH_RPC_PREFIX: rpcPrefix,
        MESH_HEARTBEAT_MS: "250",
        ...(graceMs === "default" ? {} : { MESH_LEAVE_GRACE_MS: graceMs }),
      };
      const live = await Promise.all(["r1", "r2", "r3"].map((n) => startInstance(`${transport}${graceMs}-${n}`, env)));
      all.push(...live);
      nc ??= await connect({ servers: natsUrl(), noAsyncTraces: true });
      const discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
      await discovery.ready();
      const count = () => discovery.endpoints(TestService.typeName).filter((e) => e.ready).length;
      await until(() => count() === 3, 15_000, "3 up");
      const mesh = createMeshClient({ discovery, nc, defaultTransport: transport });
      const client = mesh.client(TestService);
      const run = randomUUID().slice(0, 8);

      let restarting = true;
      const restarts = (async () => {
        for (let k = 0; k < 3; k++) {
          await new Promise((r) => setTimeout(r, 300));
          const old = live[k];
          old.proc.kill("SIGTERM");
          expect(await old.exited).toBe(0);
          const fresh = await startInstance(`${old.instanceId}-v2`, env);
          all.push(fresh);
          await until(() => count() === 3, 15_000, "replacement up");
        }
        await new Promise((r) => setTimeout(r, 300));
        restarting = false;
      })();
      // Steady load until every instance has been replaced (bounded by count and time).
      const result = await runLoad(200_000, 6, async (i) => {
        const res = await client.unaryCall({ payload: { body: new TextEncoder().encode(`${run}-${i}`) } });
        return res.servedBy;
      }, { maxMs: 90_000, until: () => !restarting });
      await restarts;
      const s = mesh.stats();
      const failedForReal = result.failed;
      const dups = duplicateSideEffects(all.map((i) => i.lines));
      console.log(`rolling restart (${transport}): ${result.ok} ok, ${failedForReal} failed ${JSON.stringify(Object.fromEntries(result.codes))}, ${s.retries} retries ` +
        `(refusals retried elsewhere), ${dups.length} duplicates, ${result.elapsedMs} ms, served ${JSON.stringify(Object.fromEntries(result.servedBy))} ${JSON.stringify(result.messages)}`);
      expect(failedForReal).toBe(0);
      expect(dups).toEqual([]);
      expect(result.ok).toBeGreaterThan(500);
      mesh.close();
      await discovery.close();
    });
  }
});
