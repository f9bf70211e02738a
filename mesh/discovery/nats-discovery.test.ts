import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnnouncementSchema, HeartbeatSchema, TableQuerySchema } from "../../gen/weft/mesh/v1/registry_pb.ts";
import { createAnnouncer, createNatsDiscovery, createStaticDiscovery, registrySubjects, type DiscoveryEvent } from "./index.ts";
import { natsUrl } from "../../test/support/servers.ts";

const NATS_URL = natsUrl();
const SERVICE = "weft.testing.v1.TestService";

const opened: NatsConnection[] = [];
async function natsConnection(): Promise<NatsConnection> {
  const nc = await connect({ servers: NATS_URL, noAsyncTraces: true });
  opened.push(nc);
  return nc;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((nc) => nc.close()));
});

async function until(check: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

describe("NATS discovery", () => {
  it("gets the table at once from live instances, follows load updates and leaves", async () => {
    const prefix = `weft.test.${randomUUID().slice(0, 8)}.registry`;
    let inFlight = 3;
    const a = createAnnouncer({
      nc: await natsConnection(), subjectPrefix: prefix, instanceId: "a", services: [SERVICE],
      address: "127.0.0.1:7001", version: "1.2.3", heartbeatIntervalMs: 50,
      load: () => ({ inFlight, eventLoopDelayMs: 1.5, workerQueueDepth: 2, concurrencyLimit: 40 }),
    });
    await a.start();
    // Started after the announcer: the snapshot, not a heartbeat, must fill the table quickly.
    const d = createNatsDiscovery({ nc: await natsConnection(), subjectPrefix: prefix });
    await d.ready();
    const [e] = d.endpoints(SERVICE);
    expect(e).toMatchObject({ instanceId: "a", address: "127.0.0.1:7001", version: "1.2.3", ready: true });
    expect(e.load).toEqual({ inFlight: 3, eventLoopDelayMs: 1.5, workerQueueDepth: 2, concurrencyLimit: 40 });

    inFlight = 9;
    await until(() => d.endpoints(SERVICE)[0]?.load.inFlight === 9, 1000);
    a.setReady(false);
    await until(() => d.endpoints(SERVICE)[0]?.ready === false, 1000);

    const events: DiscoveryEvent[] = [];
    d.subscribe((ev) => events.push(ev));
    await a.leave();
    const ms = await until(() => d.endpoints(SERVICE).length === 0, 1000);
    expect(ms).toBeLessThan(200);
    expect(events.at(-1)).toMatchObject({ type: "down", reason: "leave" });
    await d.close();
  });

  it("drops an instance whose heartbeats stop within expiryMs + sweepIntervalMs", async () => {
    const prefix = `weft.test.${randomUUID().slice(0, 8)}.registry`;
    const d = createNatsDiscovery({ nc: await natsConnection(), subjectPrefix: prefix, sweepIntervalMs: 50 });
    await d.ready();
    const announcerConn = await connect({ servers: NATS_URL });
    const a = createAnnouncer({
      nc: announcerConn, subjectPrefix: prefix, instanceId: "b", services: [SERVICE],
      address: "127.0.0.1:7002", heartbeatIntervalMs: 100, expiryMs: 300,
    });
    await a.start();
    await until(() => d.endpoints(SERVICE).length === 1, 1000);
    // Silence without a leave, as after kill -9.
    await announcerConn.close();
    const silentAt = Date.now();
    await until(() => d.endpoints(SERVICE).length === 0, 2000);
    const elapsed = Date.now() - silentAt;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(300 + 100 + 50 + 100);
    await d.close();
  });

  it("follows only the services it is interested in, on their own subjects", async () => {
    const prefix = `weft.test.${randomUUID().slice(0, 8)}.registry`;
    const OTHER = "weft.testing.v1.OtherService";
    const announcerConn = await natsConnection();
    const announcers = [["a", SERVICE], ["b", OTHER]].map(([id, service]) => createAnnouncer({
      nc: announcerConn, subjectPrefix: prefix, instanceId: id, services: [service], address: "127.0.0.1:7001", heartbeatIntervalMs: 50,
    }));
    await Promise.all(announcers.map((a) => a.start()));
    const d = createNatsDiscovery({ nc: await natsConnection(), subjectPrefix: prefix, services: [] });
    await d.ready();
    expect(d.endpoints(SERVICE)).toEqual([]);
    await d.interest(SERVICE);
    expect(d.endpoints(SERVICE).map((e) => e.instanceId)).toEqual(["a"]);
    await new Promise((r) => setTimeout(r, 150)); // heartbeats of both
    expect(d.endpoints(OTHER)).toEqual([]);
    expect(d.followed()).toEqual([SERVICE]);
    // A wildcard watcher sees both.
    const all = createNatsDiscovery({ nc: announcerConn, subjectPrefix: prefix });
    await all.ready();
    expect([...d.endpoints(SERVICE), ...all.endpoints(OTHER)].map((e) => e.instanceId)).toEqual(["a", "b"]);
    expect(all.followed()).toBe("all");
    await Promise.all([d.close(), all.close(), ...announcers.map((a) => a.close())]);
  }, 10_000);

  it("asks for the record of an instance it only heard a heartbeat from, and again when the revision moves", async () => {
    const prefix = `weft.test.${randomUUID().slice(0, 8)}.registry`;
    const subjects = registrySubjects(prefix).service(SERVICE);
    const nc = await natsConnection();
    // A hand-made instance: answers record queries and counts them.
    const asked: string[][] = [];
    let ready = true;
    let sequence = 10n;
    nc.subscribe(subjects.query, {
      callback: (_err, msg) => {
        asked.push(fromBinary(TableQuerySchema, msg.data).instanceIds);
        msg.respond(toBinary(AnnouncementSchema, create(AnnouncementSchema, { instanceId: "x", services: [SERVICE], address: "127.0.0.1:7003", ready, sequence: ++sequence, expiryMs: 5000 })));
      },
    });
    const d = createNatsDiscovery({ nc: await natsConnection(), subjectPrefix: prefix, services: [SERVICE], snapshotTimeoutMs: 100 });
    await d.ready();
    await until(() => d.endpoints(SERVICE).length === 1, 1000); // the snapshot
    expect(asked).toEqual([[]]);
    const beat = (revision: bigint) => nc.publish(subjects.beat, toBinary(HeartbeatSchema, create(HeartbeatSchema, { instanceId: "x", sequence: ++sequence, revision })));
    beat(11n); // the revision it holds: nothing to ask
    await nc.flush();
    ready = false;
    beat(sequence + 1n); // a record newer than the one held
    await until(() => d.endpoints(SERVICE)[0]?.ready === false, 1000);
    expect(asked).toEqual([[], ["x"]]);
    await d.close();
  });

  it("validates options with the field's name", async () => {
    const nc = await natsConnection();
    expect(() => createAnnouncer({ nc, instanceId: "x", services: [SERVICE], address: "nope" })).toThrow(/options.address/);
    expect(() => createAnnouncer({ nc, instanceId: "x", services: [] })).toThrow(/options.services/);
    expect(() => createAnnouncer({ nc, instanceId: "x", services: [SERVICE], address: "h:1", heartbeatIntervalMs: 100, expiryMs: 50 }))
      .toThrow(/options.expiryMs/);
    expect(() => createNatsDiscovery({ nc, subjectPrefix: "a.*" })).toThrow(/options.subjectPrefix/);
  });
});

describe("static discovery", () => {
  it("serves a fixed table without NATS", async () => {
    const d = createStaticDiscovery({ endpoints: { [SERVICE]: ["127.0.0.1:7001", "127.0.0.1:7002"], other: ["127.0.0.1:7001"] } });
    await d.ready();
    expect(d.endpoints(SERVICE).map((e) => e.address)).toEqual(["127.0.0.1:7001", "127.0.0.1:7002"]);
    expect(d.endpoints("other")[0].services).toEqual([SERVICE, "other"]);
    expect(() => createStaticDiscovery({ endpoints: { [SERVICE]: ["bad"] } })).toThrow(/options.endpoints\["weft.testing.v1.TestService"\]\[0\]/);
  });
});
