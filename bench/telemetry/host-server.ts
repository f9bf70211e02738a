// Weft's host serving TestService with the telemetry its environment asks for (WEFT_METRICS, OTEL_*),
// wired as mesh/node wires it (telemetry as host call hooks, `/metrics` on the port), without load
// shedding: a saturating generator would be refused by it, and a refusal fails the verification.
//
// Usage: node bench/telemetry/host-server.ts --mode h2

import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createHost, silentLogger, type ServerCallHooks } from "../../mesh/host/index.ts";
import { callerOf } from "../../mesh/ops/index.ts";
import { createInboundCallHooks } from "../../mesh/resilience/index.ts";
import { createRedRecorder } from "../../mesh/telemetry/index.ts";
import { announceReady, closeOnSignal, readServerMode } from "../servers/child-protocol.ts";
import { createTestServiceImpl } from "../../test/support/test-service.ts";
import { RED_WINDOW_VARIABLE, telemetryDetail } from "./modes.ts";
import { setUpTelemetry } from "./telemetry-setup.ts";

readServerMode({ usage: "node bench/telemetry/host-server.ts --mode h2|h1   (started by npm run bench:telemetry)", summary: "Weft's host serving TestService with the telemetry its environment asks for (WEFT_METRICS, OTEL_*), wired as mesh/node wires it (telemetry as host call hooks, `/metrics` on the port), without load shedding: a saturating generator would be refused by it, and a refusal fails the verification.", env: [{ name: "WEFT_METRICS", defaultText: "on", description: "off: no metrics" }, { name: RED_WINDOW_VARIABLE, defaultText: "off", description: "on: the admin API's RED window and the inbound caller hooks, as mesh/node installs them" }, { name: "OTEL_EXPORTER_OTLP_ENDPOINT", defaultText: "unset (tracing off)", description: "OTLP endpoint of the traces; the other OTEL_* variables as a service reads them" }] });
const telemetry = await setUpTelemetry(process.env, "bench-host");
// As mesh/node orders them: telemetry, the RED window, (authorization, shedding,) the inbound hooks last.
const red: ServerCallHooks[] = process.env[RED_WINDOW_VARIABLE] === "on" ? [createRedRecorder({ callerOf }).hooks] : [];
const inbound: ServerCallHooks[] = red.length > 0 ? [createInboundCallHooks()] : [];
const host = createHost({ port: 0, hostname: "127.0.0.1", logger: silentLogger, metrics: telemetry.metrics, callHooks: [...telemetry.callHooks, ...red, ...inbound] });
host.register(TestService, createTestServiceImpl({ servedBy: "", echoMetadata: false }));
const address = await host.listen();
announceReady(address.port, `Weft host and engine, ${telemetryDetail(process.env)}`);
closeOnSignal(async () => {
  await host.close();
  await telemetry.close();
});
