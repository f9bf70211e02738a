// Weft's gRPC client transport (mesh/transport createWeftGrpcTransport: one HTTP/2 session, calls
// multiplexed) under a generated connect-es client, calling UnaryCall with N calls in flight. While
// the transport does not exist the scenario is reported as not available.
//
// With BENCH_MTLS_DIR it calls over TLS 1.3 with the bench client's certificate and checks the
// server's SPIFFE ID in the handshake, as a mesh workload does (mesh/security clientOptions).
//
// Usage: node bench/clients/weft.ts --port P --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import { createClient, type Transport } from "@connectrpc/connect";
import { existsSync } from "node:fs";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { benchRequest, isBenchResponse } from "../lib/bench-request.ts";
import { drive, parseDriveArgs, report } from "./drive.ts";
import { BENCH_CLIENT, BENCH_MTLS_ENV, BENCH_SERVER, BENCH_TRUST_DOMAIN } from "../lib/mtls.ts";
import { createWorkloadTls, workloadId } from "../../mesh/security/index.ts";
import { join } from "node:path";

/** The part of mesh/transport this driver uses (declared here so the bench type-checks without it). */
interface TransportModule {
  createWeftGrpcTransport(options: { baseUrl: string; tls?: object }): Transport & { close(): void };
}

const args = parseDriveArgs(process.argv);
const entry = new URL("../../mesh/transport/index.ts", import.meta.url);
if (!existsSync(entry)) {
  process.stdout.write(`${JSON.stringify({ unavailable: "mesh/transport/index.ts (Weft's client transport) does not exist yet" })}\n`);
  process.exit(0);
}
const { createWeftGrpcTransport } = (await import(entry.href)) as TransportModule;
const mtlsDir = process.env[BENCH_MTLS_ENV];
const workload = mtlsDir === undefined ? undefined : await createWorkloadTls({ trustDomain: BENCH_TRUST_DOMAIN, dir: join(mtlsDir, BENCH_CLIENT), service: BENCH_CLIENT });
const transport = workload === undefined
  ? createWeftGrpcTransport({ baseUrl: `http://127.0.0.1:${args.port}` })
  : createWeftGrpcTransport({ baseUrl: `https://127.0.0.1:${args.port}`, tls: workload.clientOptions(workloadId(BENCH_TRUST_DOMAIN, BENCH_SERVER)) });
const client = createClient(TestService, transport);

const result = await drive(() => client.unaryCall(benchRequest), isBenchResponse, {
  ...args,
  detail: `Weft createWeftGrpcTransport (HTTP/2, one session${workload === undefined ? "" : ", TLS 1.3 with a client certificate"})`,
});
transport.close();
workload?.close();
report(result);
process.exit(0);
