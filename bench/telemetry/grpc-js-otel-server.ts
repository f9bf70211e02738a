// The peer a user would otherwise pick: @grpc/grpc-js serving TestService with the OpenTelemetry SDK
// and @opentelemetry/instrumentation-grpc, every call traced (100%) and exported by OTLP HTTP/protobuf
// to the Jaeger at OTEL_EXPORTER_OTLP_ENDPOINT, set up as the instrumentation's README shows: SDK and
// instrumentation registered before grpc-js is loaded.
//
// Usage: node bench/telemetry/grpc-js-otel-server.ts --mode h2   (env: OTEL_EXPORTER_OTLP_ENDPOINT)

import { createRequire } from "node:module";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { packageVersion } from "../lib/package-version.ts";
import { announceReady, announceUnavailable, closeOnSignal, readServerMode } from "../servers/child-protocol.ts";

readServerMode({ usage: "node bench/telemetry/grpc-js-otel-server.ts --mode h2|h1   (started by npm run bench:telemetry)", summary: "The peer a user would otherwise pick: @grpc/grpc-js serving TestService with the OpenTelemetry SDK and @opentelemetry/instrumentation-grpc, every call traced (100%) and exported by OTLP HTTP/protobuf to the Jaeger at OTEL_EXPORTER_OTLP_ENDPOINT, set up as the instrumentation's README shows: SDK and instrumentation registered before grpc-js is loaded.", env: [{ name: "OTEL_EXPORTER_OTLP_ENDPOINT", defaultText: "unset (no tracing)", description: "OTLP endpoint of instrumentation-grpc's traces" }] });
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
if (endpoint === undefined || endpoint === "") announceUnavailable("OTEL_EXPORTER_OTLP_ENDPOINT is not set (the runner sets it when Jaeger runs)");

const provider = new TracerProvider({
  resource: resourceFromAttributes({ "service.name": "bench-grpc-js" }),
  sampler: new AlwaysOnSampler(),
  spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) })],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(provider);
registerInstrumentations({ instrumentations: [new GrpcInstrumentation()] });

// Loaded through require after registration, so the instrumentation's require hook patches it.
const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const { grpcJsTestServiceImpl, loadTestServiceDefinition } = await import("../lib/grpc-js-definition.ts");

const server = new grpc.Server();
server.addService(loadTestServiceDefinition(), grpcJsTestServiceImpl);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  const versions = `@grpc/grpc-js ${packageVersion("@grpc/grpc-js")}, @opentelemetry/instrumentation-grpc ${packageVersion("@opentelemetry/instrumentation-grpc")}`;
  announceReady(port, `${versions}, every call traced and exported to ${endpoint}`);
});
closeOnSignal(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  await provider.shutdown();
});
