// The mesh client (defaults as a service gets them: retries in a budget, outlier ejection, P2C) calling
// TestService.UnaryCall over gRPC/HTTP/2 with N calls in flight, every response checked, with the
// telemetry its environment asks for (WEFT_METRICS, OTEL_*).
//
// Usage: node bench/telemetry/mesh-client.ts --port P --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createStaticDiscovery } from "../../mesh/discovery/index.ts";
import { benchRequest, isBenchResponse } from "../lib/bench-request.ts";
import { drive, readDriveArgs, report } from "../clients/drive.ts";
import { telemetryDetail } from "./modes.ts";
import { setUpTelemetry } from "./telemetry-setup.ts";

const args = readDriveArgs({ usage: "node bench/telemetry/mesh-client.ts --port P --concurrency N --warmup-ms MS --duration-ms MS   (started by npm run bench:telemetry)", summary: "The mesh client (defaults as a service gets them: retries in a budget, outlier ejection, P2C) calling TestService.UnaryCall over gRPC/HTTP/2 with N calls in flight, every response checked, with the telemetry its environment asks for (WEFT_METRICS, OTEL_*).", env: [{ name: "WEFT_METRICS", defaultText: "on", description: "off: no metrics" }, { name: "OTEL_EXPORTER_OTLP_ENDPOINT", defaultText: "unset (tracing off)", description: "OTLP endpoint of the traces; the other OTEL_* variables as a service reads them" }] });
const telemetry = await setUpTelemetry(process.env, "bench-client");
const discovery = createStaticDiscovery({ endpoints: { [TestService.typeName]: [`127.0.0.1:${args.port}`] } });
const mesh = createMeshClient({ discovery, metrics: telemetry.metrics, tracer: telemetry.tracer });
const client = mesh.client(TestService);
const result = await drive(() => client.unaryCall(benchRequest), isBenchResponse, {
  ...args,
  detail: `Weft mesh client over gRPC/HTTP/2, ${telemetryDetail(process.env)}`,
});
mesh.close();
await discovery.close();
await telemetry.close();
report(result);
process.exit(0);
