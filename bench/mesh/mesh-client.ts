// The mesh client calling TestService.UnaryCall with N calls in flight, over gRPC/HTTP/2 (Weft's
// transport) or Connect over NATS. `--features on`: NATS discovery, power of two choices on peak EWMA
// and reported load, retry budget, outlier ejection, deadline propagation, per-endpoint stats.
// `--features off`: static endpoint (gRPC) or discovery only to learn the subject (NATS), round robin,
// no retries, no ejection.
//
// Usage: node bench/mesh/mesh-client.ts --port P --transport grpc|nats --features on|off --prefix S
//        --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import { connect } from "@nats-io/transport-node";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClientOptions } from "../../mesh/client/index.ts";
import { createNatsDiscovery, createStaticDiscovery } from "../../mesh/discovery/index.ts";
import { benchRequest, isBenchResponse } from "../lib/bench-request.ts";
import { drive, readDriveArgs, report } from "../clients/drive.ts";

const args = readDriveArgs({
  usage: "node bench/mesh/mesh-client.ts --transport grpc|nats --features on|off --prefix S --port P --concurrency N --warmup-ms MS --duration-ms MS   (started by npm run bench:mesh)",
  summary: "The mesh client calling TestService.UnaryCall with N calls in flight, over gRPC/HTTP/2 (Weft's transport) or Connect over NATS. `--features on`: NATS discovery, power of two choices on peak EWMA and reported load, retry budget, outlier ejection, deadline propagation, per-endpoint stats. `--features off`: static endpoint (gRPC) or discovery only to learn the subject (NATS), round robin, no retries, no ejection.",
  flags: {
    transport: { type: "string", valueName: "grpc|nats", description: "gRPC over HTTP/2 or Connect over NATS (required)" },
    features: { type: "string", valueName: "on|off", description: "discovery, P2C, retries, ejection on or off (required)" },
    prefix: { type: "string", valueName: "SUBJECT", description: "NATS subject prefix of this run (required)" },
  },
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS of discovery and Connect over NATS" }],
});
function required(name: "transport" | "features" | "prefix"): string {
  const value = args.values[name];
  if (value === undefined) throw new Error(`--${name} is required (--help lists the flags)`);
  return value;
}
const transport = required("transport") as "grpc" | "nats";
const features = required("features") === "on";
const prefix = required("prefix");
const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222", noAsyncTraces: true });
const discovery = features || transport === "nats"
  ? createNatsDiscovery({ nc, subjectPrefix: `${prefix}.registry` })
  : createStaticDiscovery({ endpoints: { [TestService.typeName]: [`127.0.0.1:${args.port}`] } });
await discovery.ready();
const off: Partial<MeshClientOptions> = { retry: false, outlierDetection: false, balancer: { policy: "round-robin" }, propagateDeadlines: false };
const mesh = createMeshClient({ discovery, nc, defaultTransport: transport, ...(features ? {} : off) });
const client = mesh.client(TestService);

const result = await drive(() => client.unaryCall(benchRequest), isBenchResponse, {
  ...args,
  detail: `Weft mesh client over ${transport === "grpc" ? "gRPC/HTTP/2" : "Connect over NATS"}, features ${features ? "on" : "off"}`,
});
const stats = mesh.stats();
mesh.close();
await discovery.close();
await nc.close();
// Retries show server-side shedding (refusals retried); the bench counts only successful calls.
report({ ...result, detail: `${result.detail}; ${stats.attempts} attempts, ${stats.retries} retries for ${stats.calls} calls` });
process.exit(0);
