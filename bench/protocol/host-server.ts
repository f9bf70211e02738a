// Serves weft.testing.v1.TestService through the Weft host (health, reflection, admin, host
// interceptors) with a chosen wire engine, for benchmarks comparing engines under the real host:
//   node bench/protocol/host-server.ts [port] [weft|connect-node]      (defaults: 0, weft)
// PASS_INTERCEPTORS=N adds N pass-through interceptors (the cost of the interceptor chain itself).
// Prints one JSON line {"port": N, "url": "...", "engine": "..."} on stdout once listening.

import type { Interceptor } from "@connectrpc/connect";
import { connectNodeEngine, createHost, drainOnSignals, silentLogger } from "../../mesh/host/index.ts";
import { createWeftEngine } from "../../mesh/protocol/index.ts";
import { createTestServiceImpl } from "../../test/support/test-service.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const engine = (process.argv[3] ?? "weft") === "connect-node" ? connectNodeEngine : createWeftEngine();
const interceptors: Interceptor[] = Array.from({ length: Number(process.env.PASS_INTERCEPTORS ?? 0) }, () => (next) => (req) => next(req));
const host = createHost({ port, hostname: process.env.HOST ?? "127.0.0.1", engine, logger: silentLogger, interceptors });
host.register(TestService, createTestServiceImpl());
drainOnSignals(host);
const { url } = await host.listen();
process.stdout.write(JSON.stringify({ port: Number(new URL(url).port), url, engine: engine.name }) + "\n");
