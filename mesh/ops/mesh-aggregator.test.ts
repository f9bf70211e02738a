// The aggregator against real NATS: an instance whose reply misses a gathering round (a busy or cold
// process) is asked for those seconds again, and a second is merged once however often it is sent.

import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatherReplySchema, GatherRequestSchema, InstanceSnapshotSchema } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { natsUrl } from "../../test/support/servers.ts";
import { RedWindow } from "../telemetry/index.ts";
import { createMeshAggregator } from "./mesh-aggregator.ts";
import { gatherSubject } from "./gather-subject.ts";

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
});
afterAll(async () => {
  await nc?.close();
});

describe("mesh aggregator: late replies", () => {
  it("asks again for the seconds a late reply carried, and never counts a second twice", async () => {
    const prefix = `weft.agg${randomUUID().slice(0, 8)}.registry`;
    const window = new RedWindow();
    const second = Math.floor(Date.now() / 1000) - 2;
    for (let i = 0; i < 5; i++) window.key("t.v1.S", "M", "(outside)")!.record(second, 1, i === 0);
    let requests = 0;
    // An instance that answers the first gathering too late, then promptly (and always all it has).
    const sub = nc.subscribe(gatherSubject(prefix), {
      callback: (_err, msg) => {
        const request = fromBinary(GatherRequestSchema, msg.data);
        const seconds = window.secondsBetween(Number(request.fromUnixS), Number(request.toUnixS));
        const reply = toBinary(GatherReplySchema, create(GatherReplySchema, { instance: create(InstanceSnapshotSchema, { instanceId: "slow" }), seconds: seconds.map((s) => ({ ...s, buckets: [...s.buckets], unixS: BigInt(s.unixS) })) }));
        if (++requests === 1) setTimeout(() => msg.respond(reply), 400);
        else msg.respond(reply);
      },
    });
    const aggregator = createMeshAggregator({ nc, instanceId: "agg", registryPrefix: prefix, gatherWaitMs: 150, intervalMs: 250 });
    try {
      const calls = async () => {
        const snap = await aggregator.snapshot({ windowSeconds: 60, series: false });
        return { calls: snap.methods.reduce((n, m) => n + Number(m.calls), 0), errors: snap.methods.reduce((n, m) => n + Number(m.errors), 0) };
      };
      expect((await calls()).calls).toBe(0); // the first round's reply came too late
      const deadline = Date.now() + 10_000;
      while ((await calls()).calls < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await calls()).toEqual({ calls: 5, errors: 1 });
      // Later rounds resend nothing new for that second: the figures stay as they are.
      const seen = requests;
      while (requests < seen + 3 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 100));
      expect(await calls()).toEqual({ calls: 5, errors: 1 });
    } finally {
      aggregator.close();
      sub.unsubscribe();
    }
  }, 30_000);
});
