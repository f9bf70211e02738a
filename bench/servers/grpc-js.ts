// @grpc/grpc-js serving TestService loaded with @grpc/proto-loader from proto/ (the way most grpc-js
// users write servers).
//
// With BENCH_MTLS_DIR: TLS, client certificate required (grpc.ServerCredentials.createSsl).
//
// Usage: node bench/servers/grpc-js.ts --mode h2

import * as grpc from "@grpc/grpc-js";
import { grpcJsTestServiceImpl, loadTestServiceDefinition } from "../lib/grpc-js-definition.ts";
import { packageVersion } from "../lib/package-version.ts";
import { announceReady, closeOnSignal, parseMode } from "./child-protocol.ts";
import { BENCH_MTLS_ENV, BENCH_SERVER, benchPem } from "../lib/mtls.ts";

parseMode(process.argv);

const version = packageVersion("@grpc/grpc-js");

const server = new grpc.Server();
server.addService(loadTestServiceDefinition(), grpcJsTestServiceImpl);

const mtlsDir = process.env[BENCH_MTLS_ENV];
const pem = mtlsDir === undefined ? undefined : benchPem(mtlsDir, BENCH_SERVER);
const credentials = pem === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(pem.ca, [{ private_key: pem.key, cert_chain: pem.cert }], true);
server.bindAsync("127.0.0.1:0", credentials, (error, port) => {
  if (error) throw error;
  announceReady(port, `@grpc/grpc-js ${version}, @grpc/proto-loader${pem === undefined ? "" : ", TLS, client certificate required"}`);
});
closeOnSignal(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
