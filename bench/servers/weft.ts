// Weft's host (mesh/host createHost) with Weft's own protocol engine (mesh/protocol createWeftEngine)
// serving TestService: what a Weft service runs, health/reflection/admin services, host interceptors
// (drain admission, in-flight accounting, error sanitising) and limits included. One cleartext port
// serves h2c and HTTP/1.1, so `--mode` only labels the scenario.
//
// While a piece is missing the scenario is reported as not available (never measured with a
// stand-in): no mesh/host -> not available; mesh/host without mesh/protocol -> not available either,
// because the host's default engine is connect-node's adapter, already measured as its own row.
//
// With BENCH_MTLS_DIR (bench/lib/mtls.ts) it serves TLS 1.3 and requires a client certificate, as a
// mesh workload does (mesh/security hostTlsOptions); with BENCH_AUTHZ=1 too, every call also goes
// through the authorization hooks with a policy allowing the bench client's SPIFFE ID.
// WEFT_BENCH_VALIDATE=1 serves TestService behind mesh/validation's withValidation (its contract's
// protovalidate rules checked on every request), for the grpc/weft-validated scenario.
//
// Usage: node bench/servers/weft.ts --mode h2|h1

import { existsSync } from "node:fs";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { announceReady, announceUnavailable, closeOnSignal, readServerMode } from "./child-protocol.ts";
import { createTestServiceImpl } from "../../test/support/test-service.ts";
import { BENCH_AUTHZ_ENV, BENCH_MTLS_ENV } from "../lib/mtls.ts";
import { benchSecurity } from "./weft-security.ts";

// The same handlers in every benchmark server; they never read request headers or name the server.
const benchTestService = createTestServiceImpl({ servedBy: "", echoMetadata: false });

readServerMode({ usage: "node bench/servers/weft.ts --mode h2|h1   (started by npm run bench)", summary: "Weft's host (mesh/host createHost) with Weft's own protocol engine (mesh/protocol createWeftEngine) serving TestService: what a Weft service runs, health/reflection/admin services, host interceptors (drain admission, in-flight accounting, error sanitising) and limits included. One cleartext port serves h2c and HTTP/1.1, so `--mode` only labels the scenario.", env: [
  { name: "PASS_INTERCEPTORS", defaultText: "0", description: "pass-through interceptors to add (interceptor cost)" },
  { name: "WEFT_BENCH_VALIDATE", defaultText: "0", description: "1: TestService behind mesh/validation (its protovalidate rules checked on every request)" },
  { name: "BENCH_MTLS_DIR", description: "serve TLS 1.3 with client certificates from this folder (bench/lib/mtls.ts)" },
  { name: "BENCH_AUTHZ", defaultText: "0", description: "1 with BENCH_MTLS_DIR: the authorization hooks on every call" },
] });

const hostEntry = new URL("../../mesh/host/index.ts", import.meta.url);
const engineEntry = new URL("../../mesh/protocol/index.ts", import.meta.url);
if (!existsSync(hostEntry)) announceUnavailable("mesh/host/index.ts does not exist yet");
if (!existsSync(engineEntry)) announceUnavailable("mesh/protocol/index.ts (Weft's engine) does not exist yet");

// Imported by URL at run time so the bench still runs (and reports "not available") without them.
const hostModule = (await import(hostEntry.href)) as typeof import("../../mesh/host/index.ts");
const engineModule = (await import(engineEntry.href)) as typeof import("../../mesh/protocol/index.ts");

const mtlsDir = process.env[BENCH_MTLS_ENV];
const security = mtlsDir === undefined ? undefined : await benchSecurity(mtlsDir, process.env[BENCH_AUTHZ_ENV] === "1");
const host = hostModule.createHost({
  port: 0,
  hostname: "127.0.0.1",
  engine: engineModule.createWeftEngine(),
  logger: hostModule.silentLogger,
  ...(security === undefined ? {} : { tls: security.tls, callHooks: security.callHooks, maxConnectionAgeMs: 0 }),
});
if (process.env.WEFT_BENCH_VALIDATE === "1") {
  const validation = (await import(new URL("../../mesh/validation/index.ts", import.meta.url).href)) as typeof import("../../mesh/validation/index.ts");
  host.register(TestService, validation.withValidation(TestService, benchTestService));
} else {
  host.register(TestService, benchTestService);
}
const address = await host.listen();
announceReady(address.port, `Weft host (createHost), engine ${host.engineName}${security === undefined ? "" : `, ${security.detail}`}`);
closeOnSignal(async () => {
  await host.close();
  security?.close();
});
