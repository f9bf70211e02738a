// The weft CLI against a small distributed mesh (two TestService processes on mesh/node, found through
// NATS discovery): the mesh-wide aggregator sums both instances, calls go to a discovered instance, and
// the event figures come from JetStream (a stream and consumer of this test's own).

import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager, AckPolicy } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery } from "../../mesh/discovery/index.ts";
import { startInstance, stop, type TestInstance } from "../distributed/fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";
import { weft } from "./cli-helpers.ts";

const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
const stream = `WEFTCLI_${randomUUID().slice(0, 8).toUpperCase()}`;
const instances: TestInstance[] = [];
let nc: NatsConnection;
const cli = (args: string[], input?: string) => weft([...args, "--nats", natsUrl(), "--registry-prefix", prefix], {}, input);

beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  const env = { MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_HEARTBEAT_MS: "500" };
  instances.push(...(await Promise.all([startInstance("cli-a", env), startInstance("cli-b", env)])));
}, 120_000);
afterAll(async () => {
  await Promise.all(instances.map((i) => stop(i.proc)));
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
});

describe("weft against a distributed mesh (NATS discovery)", () => {
  it("ls finds both instances; stat sums the calls of both (the aggregator gathers over NATS)", async () => {
    const ls = await cli(["ls", "--json"]);
    expect(ls.code, ls.stderr).toBe(0);
    const listed = (JSON.parse(ls.stdout) as { instanceId: string; concurrencyLimit: number }[]);
    expect(listed.map((i) => i.instanceId).sort()).toEqual(["cli-a", "cli-b"]);
    expect(listed.every((i) => i.concurrencyLimit > 0)).toBe(true);

    const discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
    const mesh = createMeshClient({ discovery, defaultTransport: "grpc" });
    try {
      const client = mesh.client(TestService);
      // UnaryCall: no other test of this file calls it, so the count is this load's whatever the order.
      for (let i = 0; i < 60; i++) await client.unaryCall({});
    } finally {
      mesh.close();
      await discovery.close();
    }
    // The aggregator reports whole seconds: poll until the load's last second is in.
    let calls = 0;
    const deadline = Date.now() + 20_000;
    while (calls < 60 && Date.now() < deadline) {
      const stat = await cli(["stat", "--json"]);
      expect(stat.code, stat.stderr).toBe(0);
      calls = (JSON.parse(stat.stdout) as { methods: { method: string; calls: number }[] }).methods.find((m) => m.method === "UnaryCall")?.calls ?? 0;
    }
    expect(calls).toBe(60);
  }, 90_000);

  it("call reaches a discovered instance; --instance picks one; an unknown one is a usage error", async () => {
    const run = await cli(["call", "weft.testing.v1.TestService/EmptyCall", "{}", "--protocol", "grpc"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({});
    const picked = await cli(["call", "TestService/EmptyCall", "{}", "--instance", "cli-b", "--json"]);
    expect(picked.code, picked.stderr).toBe(0);
    expect(JSON.parse(picked.stdout)).toMatchObject({ message: {} });
    const missing = await cli(["call", "TestService/EmptyCall", "{}", "--instance", "nobody"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no instance nobody/);
  }, 120_000);

  it("events report shows a consumer's pending messages and lag; events tail prints new messages, the last N, by subject", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    await jsm.consumers.add(stream, { durable_name: "reader", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish(`${stream.toLowerCase()}.thing`, new TextEncoder().encode(`m${i}`));
    const report = await cli(["events", "report", "--prefix", stream, "--json"]);
    expect(report.code, report.stderr).toBe(0);
    const body = JSON.parse(report.stdout) as { available: boolean; streams: { name: string; messages: string; consumers: { name: string; pending: string; lagMessages: string; lagSeconds: number }[] }[] };
    expect(body.available).toBe(true);
    expect(body.streams.map((s) => s.name)).toEqual([stream]);
    expect(body.streams[0].messages).toBe("5");
    expect(body.streams[0].consumers[0]).toMatchObject({ name: "reader", pending: "5", lagMessages: "5" });
    expect(body.streams[0].consumers[0].lagSeconds).toBeGreaterThan(0);

    const tail = cli(["events", "tail", stream, "--count", "2"]);
    // Publish until the tail has seen two (it only sees messages published after it started).
    let done = false;
    void tail.then(() => (done = true));
    for (let i = 0; i < 200 && !done; i++) {
      await js.publish(`${stream.toLowerCase()}.later`, new TextEncoder().encode(`late${i}`));
      await new Promise((r) => setTimeout(r, 100));
    }
    const tailed = await tail;
    expect(tailed.code, tailed.stderr).toBe(0);
    const lines = tailed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { stream: string; subject: string });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ stream, subject: `${stream.toLowerCase()}.later` });

    // --last starts with the stream's latest messages; --subject keeps the matching ones (headers, no payload).
    const lastSeq = Number((await jsm.streams.info(stream)).state.last_seq);
    const latest = await cli(["events", "tail", stream, "--last", "3", "--count", "3"]);
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([lastSeq - 2, lastSeq - 1, lastSeq]);
    const filtered = await cli(["events", "tail", stream, "--last", "1000", "--count", "5", "--subject", `${stream.toLowerCase()}.thing`]);
    expect(filtered.code, filtered.stderr).toBe(0);
    const things = filtered.stdout.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; subject: string; bytes: number });
    expect(things.map((t) => t.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(things.every((t) => t.subject === `${stream.toLowerCase()}.thing` && t.bytes === 2)).toBe(true);
    const unknown = await cli(["events", "tail", "NO_SUCH_STREAM_X", "--count", "1"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no stream NO_SUCH_STREAM_X/);
  }, 90_000);

  it("events report says when more streams match than one answer holds, and lists the first 100 by name", async () => {
    const jsm = await jetstreamManager(nc);
    // 101 streams of this test's own (`<stream>_M000`..`_M100`), made in reverse so that listing order is not name order.
    const many = Array.from({ length: 101 }, (_, i) => `${stream}_M${String(i).padStart(3, "0")}`);
    try {
      for (const name of [...many].reverse()) await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
      const json = await cli(["events", "report", "--prefix", `${stream}_M`, "--json"]);
      expect(json.code, json.stderr).toBe(0);
      const body = JSON.parse(json.stdout) as { truncated: boolean; streams: { name: string }[] };
      expect(body.truncated).toBe(true);
      expect(body.streams.map((s) => s.name)).toEqual(many.slice(0, 100));
      const text = await cli(["events", "report", "--prefix", `${stream}_M`]);
      expect(text.stdout).toMatch(/the first 100 streams by name; more exist: narrow with --prefix/);
      // One fewer match fits in one answer: nothing is said to be missing.
      const fits = await cli(["events", "report", "--prefix", `${stream}_M0`, "--json"]);
      expect(JSON.parse(fits.stdout)).toMatchObject({ truncated: false });
      expect((JSON.parse(fits.stdout) as { streams: unknown[] }).streams).toHaveLength(100);
    } finally {
      for (const name of many) await jsm.streams.delete(name).catch(() => undefined);
    }
  }, 90_000);
});
