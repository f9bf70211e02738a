// readMeshNodeConfig: every bad value of every variable is refused at start-up with WEFT_ERR_MESH_CONFIG
// and a message naming the variable; good values and defaults come through.

import { describe, expect, it } from "vitest";
import { MeshConfigError, readMeshNodeConfig, WEFT_ERR_MESH_CONFIG } from "./index.ts";

const BAD: ReadonlyArray<readonly [variable: string, value: string]> = [
  ["PORT", "eighty"],
  ["PORT", "-1"],
  ["PORT", "65536"],
  ["PORT", "80.5"],
  ["INSTANCE_ID", "has space"],
  ["INSTANCE_ID", "a.b"],
  ["INSTANCE_ID", "a*"],
  ["MESH_TRANSPORT", "http"],
  ["MESH_TRANSPORT", "GRPC"],
  ["MESH_REGISTRY_PREFIX", "weft..registry"],
  ["MESH_REGISTRY_PREFIX", "weft.*"],
  ["MESH_REGISTRY_PREFIX", "weft.registry."],
  ["MESH_RPC_PREFIX", "weft rpc"],
  ["MESH_RPC_PREFIX", "weft.>"],
  ["MESH_EVENTS_PREFIX", "t-1"],
  ["MESH_EVENTS_PREFIX", "t.1"],
  ["MESH_EVENTS_REPLICAS", "0"],
  ["MESH_EVENTS_REPLICAS", "6"],
  ["MESH_EVENTS_REPLICAS", "three"],
  ["MESH_HEARTBEAT_MS", "fast"],
  ["MESH_HEARTBEAT_MS", "9"],
  ["MESH_HEARTBEAT_MS", "60001"],
  ["MESH_LEAVE_GRACE_MS", "-5"],
  ["MESH_LEAVE_GRACE_MS", "10001"],
  ["MESH_LEAVE_GRACE_MS", "1e3"],
  ["MESH_CONCURRENCY_LIMIT", "3"],
  ["MESH_CONCURRENCY_LIMIT", "100001"],
  ["MESH_CONCURRENCY_LIMIT", "lots"],
];

describe("readMeshNodeConfig", () => {
  it.each(BAD)("refuses %s=%j with WEFT_ERR_MESH_CONFIG naming the variable", (variable, value) => {
    let err: unknown;
    try {
      readMeshNodeConfig({ [variable]: value }, "test");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MeshConfigError);
    expect((err as MeshConfigError).code).toBe(WEFT_ERR_MESH_CONFIG);
    expect((err as MeshConfigError).message).toMatch(new RegExp(`^${variable} `));
  });

  it("refuses Connect over NATS under mTLS without a NATS user, naming MESH_NATS_NKEY_FILE", () => {
    const env = { MESH_TRANSPORT: "nats", MESH_TLS_DIR: "/certs/orders" };
    expect(() => readMeshNodeConfig(env, "orders")).toThrow(/MESH_NATS_NKEY_FILE/);
    expect(readMeshNodeConfig({ ...env, MESH_NATS_NKEY_FILE: "/nats/orders.nk" }, "orders").natsNkeyFile).toBe("/nats/orders.nk");
  });

  it("fills in the documented defaults", () => {
    const config = readMeshNodeConfig({}, "catalog");
    expect(config).toMatchObject({
      hostname: "127.0.0.1",
      port: 0,
      advertiseHost: "127.0.0.1",
      natsUrl: "nats://127.0.0.1:4222",
      redisUrl: undefined,
      version: "0.0.0-dev",
      transport: "grpc",
      registryPrefix: "weft.registry",
      rpcPrefix: "weft.rpc",
      eventsPrefix: "",
      eventsReplicas: 1,
      heartbeatIntervalMs: 1000,
      leaveGraceMs: 200,
      concurrencyLimitMax: 1000,
    });
    expect(config.instanceId).toMatch(/^catalog-\d+-[0-9a-f]{6}$/);
  });

  it("takes good values at the edges of their ranges", () => {
    const config = readMeshNodeConfig(
      {
        PORT: "65535", INSTANCE_ID: "a_B-9", MESH_TRANSPORT: "nats", MESH_REGISTRY_PREFIX: "a.b_c.d-e", MESH_RPC_PREFIX: "r",
        MESH_EVENTS_PREFIX: "T1", MESH_HEARTBEAT_MS: "10", MESH_LEAVE_GRACE_MS: "0", MESH_CONCURRENCY_LIMIT: "4", HOST: "0.0.0.0",
        MESH_EVENTS_REPLICAS: "5",
      },
      "x",
    );
    expect(config).toMatchObject({
      port: 65535, instanceId: "a_B-9", transport: "nats", registryPrefix: "a.b_c.d-e", rpcPrefix: "r", eventsPrefix: "T1",
      heartbeatIntervalMs: 10, leaveGraceMs: 0, eventsReplicas: 5, concurrencyLimitMax: 4, hostname: "0.0.0.0", advertiseHost: "127.0.0.1",
    });
  });
});
