// Every code of the registry (mesh/errors/codes.ts) is produced here by the component that owns it, and
// checked by `err.code`, not by its message: a code renamed, dropped or thrown under another name fails.

import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMemoryCache } from "../../mesh/cache/index.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { createStaticDiscovery } from "../../mesh/discovery/index.ts";
import { describeStartupError, WeftErrorCodes, type WeftErrorCode } from "../../mesh/errors/index.ts";
import { createMemoryEventBus } from "../../mesh/events/index.ts";
import { createHost, silentLogger } from "../../mesh/host/index.ts";
import { connectNats, readMeshNodeConfig } from "../../mesh/node/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";
import { createRetryBudget } from "../../mesh/resilience/index.ts";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { waitForRedisReady } from "../../mesh/redis/index.ts";
import { createMetrics, readTracingConfig } from "../../mesh/telemetry/index.ts";
import { createWorkloadTls, parsePolicy, readCredentials } from "../../mesh/security/index.ts";
import { createLocalRateLimiter } from "../../mesh/ratelimit/index.ts";
import { Redis } from "ioredis";

/** Runs `produce` and returns what it threw (sync or async). */
async function thrown(produce: () => unknown): Promise<unknown> {
  try {
    await produce();
  } catch (err) {
    return err;
  }
  throw new Error("nothing was thrown");
}

const bad = <T>(value: unknown) => value as T;

/** One producer per code: the smallest real misuse of the component that owns it. */
const producers: Record<WeftErrorCode, () => unknown> = {
  WEFT_ERR_HOST_OPTIONS: () => createHost({ port: -1, logger: silentLogger }),
  WEFT_ERR_HOST_STATE: async () => {
    const host = createHost({ port: 0, logger: silentLogger });
    await host.listen();
    try {
      await host.listen();
    } finally {
      await host.close();
    }
  },
  WEFT_ERR_HOST_DUPLICATE_SERVICE: () => {
    const host = createHost({ port: 0, logger: silentLogger });
    host.register(TestService, {});
    host.register(TestService, {});
  },
  WEFT_ERR_HOST_LISTEN: async () => {
    // A port this test holds: the host's listen must fail, not share it.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      await createHost({ hostname: "127.0.0.1", port, logger: silentLogger }).listen();
    } finally {
      holder.close();
    }
  },
  WEFT_ERR_HOST_UNKNOWN_SERVICE: () => createHost({ port: 0, logger: silentLogger }).health.set("no.such.v1.Service", "SERVING"),
  WEFT_ERR_MESH_CONFIG: () => readMeshNodeConfig({ PORT: "eighty" }, "test"),
  WEFT_ERR_PROTOCOL_OPTIONS: () => createWeftEngine({ compressMinBytes: -1 }),
  WEFT_ERR_TRANSPORT_OPTIONS: () => createWeftGrpcTransport({ baseUrl: bad<string>(42) }),
  WEFT_ERR_CLIENT_OPTIONS: () => createMeshClient({ discovery: bad(undefined) }),
  WEFT_ERR_DISCOVERY_OPTIONS: () => createStaticDiscovery({ endpoints: { [TestService.typeName]: ["no-port"] } }),
  WEFT_ERR_RESILIENCE_OPTIONS: () => createRetryBudget({ windowMs: 1500 }),
  WEFT_ERR_CACHE_OPTIONS: () => createMemoryCache({ maxEntries: 0 }),
  WEFT_ERR_EVENTS_OPTIONS: () => createMemoryEventBus({ redeliveryDelayMs: -1 }),
  WEFT_ERR_COMPUTE_OPTIONS: () => createPiscinaComputePool({ maxThreads: 0 }),
  WEFT_ERR_TELEMETRY_CONFIG: () => readTracingConfig({ OTEL_TRACES_SAMPLER: "sometimes" }, "test"),
  WEFT_ERR_TELEMETRY_OPTIONS: () => createMetrics({ maxServices: 0 }),
  WEFT_ERR_RATELIMIT_OPTIONS: () => createLocalRateLimiter({ maxKeys: 0 }),
  WEFT_ERR_SECURITY_OPTIONS: () => createWorkloadTls({ trustDomain: "Not A Domain", dir: "/nonexistent" }),
  WEFT_ERR_SECURITY_CREDENTIALS: () => readCredentials("/nonexistent-weft-credentials", "weft.local"),
  WEFT_ERR_SECURITY_POLICY: () => parsePolicy({ workload: "orders" }, "orders/policy.json"),
  WEFT_ERR_NATS_UNREACHABLE: async () => {
    // A port nothing listens on: the first connection fails, translated (nats.js's error is the cause).
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    await connectNats({ servers: `nats://127.0.0.1:${port}`, timeoutMs: 2_000 });
  },
  WEFT_ERR_STARTUP: () => {
    // Not thrown but printed: the one start-up line of an error that carries no code of its own.
    const line = describeStartupError(new Error("no code of its own"));
    throw Object.assign(new Error(line), { code: line.slice(0, line.indexOf(":")) });
  },
  WEFT_ERR_REDIS_NOT_READY: async () => {
    // A connection that is never opened never gets ready: the wait must end with the code, not hang.
    const redis = new Redis({ lazyConnect: true });
    try {
      await waitForRedisReady(redis, { timeoutMs: 50 });
    } finally {
      redis.disconnect();
    }
  },
};

describe("every WEFT_ERR_* code is produced", () => {
  it("has a producer for each code of the registry, and none for a code it lacks", () => {
    expect(Object.keys(producers).sort()).toEqual(Object.keys(WeftErrorCodes).sort());
  });

  for (const code of Object.keys(producers) as WeftErrorCode[]) {
    it(code, async () => {
      const err = await thrown(producers[code]);
      expect((err as { code?: unknown }).code, String(err)).toBe(code);
    });
  }
});
