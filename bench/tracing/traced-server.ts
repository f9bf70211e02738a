// The Weft host serving the benchmark's TestService with tracing set up from the OTEL_* environment
// exactly as mesh/node does it (readTracingConfig, startTracing, tracing call hooks): off, sampled, or
// every call exported to Jaeger. Prints the child protocol's ready line.

import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { applyServerV8Flags, createHost, silentLogger } from "../../mesh/host/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";
import { createTracingCallHooks, readTracingConfig, startTracing } from "../../mesh/telemetry/index.ts";
import { announceReady, closeOnSignal } from "../servers/child-protocol.ts";
import { createTestServiceImpl } from "../../test/support/test-service.ts";

readCommandLine({
  usage: "node bench/tracing/traced-server.ts   (started by npm run bench:tracing)",
  summary: "The Weft host serving TestService with tracing set up from OTEL_* as mesh/node does; prints the ready line.",
  flags: {},
  env: [
    { name: "OTEL_EXPORTER_OTLP_ENDPOINT", defaultText: "unset (tracing off)", description: "where spans go" },
    { name: "OTEL_TRACES_SAMPLER", defaultText: "parentbased_always_on", description: "with OTEL_TRACES_SAMPLER_ARG, the sampling; other OTEL_* as a service reads them" },
  ],
});
applyServerV8Flags();
const config = readTracingConfig(process.env, "bench-server");
const tracing = await startTracing(config);
const host = createHost({
  port: 0,
  hostname: "127.0.0.1",
  engine: createWeftEngine(),
  logger: silentLogger,
  callHooks: tracing === undefined ? [] : [createTracingCallHooks({ tracer: tracing.tracer })],
});
host.register(TestService, createTestServiceImpl({ servedBy: "", echoMetadata: false }));
const address = await host.listen();
announceReady(address.port, tracing === undefined ? "tracing off" : `tracing ${config.sampler} ${config.ratio} to ${config.tracesUrl}`);
closeOnSignal(async () => {
  await host.close();
  await tracing?.shutdown();
});
