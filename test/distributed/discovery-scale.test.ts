// Discovery at 1,000 simulated instances of 50 services on a private nats-server: a client that calls
// 3 services follows only those (its table holds exactly their instances, and its connection carries
// only their heartbeats), sees a new instance from its first announcement and drops a silent one by
// expiry. The throughput figures live in bench/discovery (npm run bench:discovery).

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnnouncer, createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { privateNats, type PrivateServer } from "../support/private-servers.ts";
import { until } from "./fixtures/processes.ts";

const INSTANCES = 1000;
const SERVICES = 50;
const HEARTBEAT_MS = 1000;
const EXPIRY_MS = 3 * HEARTBEAT_MS;
const SWEEP_MS = 250;
const PREFIX = "weft.scale.registry";
const serviceName = (i: number) => `weft.scale.v1.Service${i % SERVICES}`;
const CALLED = [serviceName(0), serviceName(17), serviceName(49)];

let nats: PrivateServer | undefined;
const connections: NatsConnection[] = [];
let discovery: NatsDiscovery | undefined;
let clientNc: NatsConnection | undefined;

async function natsConnection(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats!.url, noAsyncTraces: true });
  connections.push(nc);
  return nc;
}

beforeAll(async () => {
  nats = await privateNats();
  // Four connections, as four processes of 250 instances each would have.
  const ncs = await Promise.all([0, 1, 2, 3].map(() => natsConnection()));
  const starts: Promise<void>[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const a = createAnnouncer({ nc: ncs[i % 4], instanceId: `sim-${i}`, services: [serviceName(i)], address: `127.0.0.1:${20_000 + i}`, subjectPrefix: PREFIX, heartbeatIntervalMs: HEARTBEAT_MS });
    starts.push(a.start());
  }
  await Promise.all(starts);
  // The client under test: follows only the 3 services it calls (each test may run first).
  clientNc = await natsConnection();
  discovery = createNatsDiscovery({ nc: clientNc, subjectPrefix: PREFIX, services: [] });
  await discovery.ready();
  await Promise.all(CALLED.map((s) => discovery!.interest(s)));
}, 30_000);

afterAll(async () => {
  await discovery?.close();
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await nats?.dispose();
});

describe("discovery at 1,000 instances", () => {
  it("a client calling 3 services holds exactly their instances and receives only their heartbeats", async () => {
    const nc = clientNc!;
    const d = discovery!;
    const expected = (service: string) => Array.from({ length: INSTANCES }, (_, i) => i).filter((i) => serviceName(i) === service).map((i) => `sim-${i}`).sort();
    const held = (service: string) => d.endpoints(service).map((e) => e.instanceId).sort();
    // The snapshot may come back short on a busy machine; heartbeats fill the rest.
    await until(() => CALLED.every((s) => held(s).length === expected(s).length), 10_000, "tables filled");
    for (const s of CALLED) expect(held(s)).toEqual(expected(s));
    expect(d.endpoints(serviceName(1))).toEqual([]);
    expect(d.followed()).toEqual(CALLED);

    // 60 instances beat once a second: a few seconds carry a few hundred messages, not thousands.
    const before = nc.stats().inMsgs;
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS));
    const received = nc.stats().inMsgs - before;
    console.log(`discovery at ${INSTANCES} instances: a client of 3 services received ${received} messages in ${3 * HEARTBEAT_MS} ms`);
    expect(received).toBeGreaterThanOrEqual(60 * 2);
    expect(received).toBeLessThan(60 * 3 * 2);
  });

  it("sees a new instance within 2 heartbeats and drops a silent one by expiry", async () => {
    const d = discovery!;
    const full = () => d.endpoints(CALLED[1]).length === INSTANCES / SERVICES;
    await until(full, 10_000, "table filled");
    const events: string[] = [];
    d.subscribe((event) => {
      if (event.endpoint.instanceId === "new-1") events.push(event.type === "down" ? `down:${event.reason}` : event.type);
    });
    const own = await natsConnection();
    const a = createAnnouncer({ nc: own, instanceId: "new-1", services: [CALLED[1]], address: "127.0.0.1:9", subjectPrefix: PREFIX, heartbeatIntervalMs: HEARTBEAT_MS });
    const startedAt = Date.now();
    await a.start();
    await until(() => d.endpoints(CALLED[1]).some((e) => e.instanceId === "new-1"), 2 * HEARTBEAT_MS, "new instance seen");
    console.log(`discovery at ${INSTANCES} instances: new instance seen after ${Date.now() - startedAt} ms`);

    // Silence without a leave, as after kill -9.
    await own.close();
    const silentAt = Date.now();
    await until(() => !d.endpoints(CALLED[1]).some((e) => e.instanceId === "new-1"), EXPIRY_MS + SWEEP_MS + 2 * HEARTBEAT_MS, "silent instance dropped");
    console.log(`discovery at ${INSTANCES} instances: silent instance dropped after ${Date.now() - silentAt} ms`);
    expect(events).toEqual(["up", "down:expired"]);
    expect(d.endpoints(CALLED[1])).toHaveLength(INSTANCES / SERVICES);
  });
});
