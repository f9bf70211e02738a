// A Weft mesh instance serving TestService for the mesh benchmarks: Weft's host and engine over HTTP/2
// plus Connect over NATS on its own subject, announced in discovery. `--features on` adds the server
// side of the mesh (adaptive concurrency limit with load shedding, deadline propagation); `off` serves
// bare.
//
// Usage: node bench/mesh/mesh-server.ts --features on|off --prefix <subject prefix> [--nats-url URL]

import { readCommandLine } from "../../mesh/errors/index.ts";
import { connect } from "@nats-io/transport-node";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createNatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import { createAnnouncer } from "../../mesh/discovery/index.ts";
import { createHost, silentLogger } from "../../mesh/host/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";
import {
  createConcurrencyLimiter,
  createEventLoopGuard,
  createEventLoopMonitor,
  createInboundCallHooks,
  createLoadSheddingHooks,
} from "../../mesh/resilience/index.ts";
import { nodeService } from "../../mesh/node/index.ts";
import { announceReady, closeOnSignal } from "../servers/child-protocol.ts";
import { createTestServiceImpl } from "../../test/support/test-service.ts";

// The same handlers in every benchmark server; they never read request headers or name the server.
const benchTestService = createTestServiceImpl({ servedBy: "", echoMetadata: false });

const { values } = readCommandLine({
  usage: "node bench/mesh/mesh-server.ts [flags]   (started by npm run bench:mesh)",
  summary: "The Weft server of bench:mesh: TestService on a host and over NATS, with every mesh feature on or off.",
  flags: {
    features: { type: "string", valueName: "on|off", defaultText: "off", description: "call hooks, shedding and limits on or off" },
    prefix: { type: "string", valueName: "SUBJECT", defaultText: "weft.bench", description: "NATS subject prefix of this run" },
    "nats-url": { type: "string", valueName: "URL", defaultText: "nats://127.0.0.1:4222", description: "NATS server" },
  },
});
const features = values.features === "on";
const prefix = values.prefix ?? "weft.bench";
const eventLoop = createEventLoopMonitor();
const limiter = createConcurrencyLimiter({ maxLimit: 1000, initialLimit: 200, eventLoopDelayMs: eventLoop.delayMs });
const eventLoopGuard = createEventLoopGuard();
// As mesh/node wires them: the same call hooks for the host and the NATS server.
const callHooks = features ? [createLoadSheddingHooks({ limiter, eventLoopGuard }), createInboundCallHooks()] : [];

const host = createHost({ port: 0, hostname: "127.0.0.1", engine: createWeftEngine(), logger: silentLogger, callHooks });
host.register(TestService, benchTestService);
const address = await host.listen();

const nc = await connect({ servers: values["nats-url"] ?? "nats://127.0.0.1:4222", noAsyncTraces: true });
const instanceId = `bench-${process.pid}`;
const natsSubject = `${prefix}.rpc.${instanceId}`;
const natsServer = createNatsRpcServer({ nc, subject: natsSubject, services: [nodeService(TestService, benchTestService)], callHooks });
const announcer = createAnnouncer({
  nc, instanceId, services: [TestService.typeName], address: `127.0.0.1:${address.port}`, natsSubject, subjectPrefix: `${prefix}.registry`,
  load: () => ({ inFlight: host.inFlight + natsServer.inFlight, eventLoopDelayMs: eventLoop.delayMs(), workerQueueDepth: 0, concurrencyLimit: limiter.limit }),
});
await announcer.start();
announceReady(address.port, `Weft host + engine, Connect over NATS, server features ${features ? "on" : "off"}`);
closeOnSignal(async () => {
  await announcer.leave();
  natsServer.close();
  await host.close();
  await nc.close();
});
