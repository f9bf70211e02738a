// The server under test for the Connect conformance suite (`connectconformance --mode server`): reads
// one size-delimited ServerCompatRequest on stdin, starts a Weft host with Weft's engine as asked
// (TLS, client certificates, receive limit), answers with a ServerCompatResponse on stdout, and serves
// ConformanceService until the runner closes stdin or signals it.

import { create, createRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { file_connectrpc_conformance_v1_service } from "../../gen/connectrpc/conformance/v1/service_pb.ts";
import { ServerCompatRequestSchema, ServerCompatResponseSchema } from "../../gen/connectrpc/conformance/v1/server_compat_pb.ts";
import { createHost, createWeftEngine, silentLogger } from "../../mesh/host/index.ts";
import { ConformanceService, createConformanceService } from "./conformance-service.ts";
import { readSizeDelimited, writeSizeDelimited } from "./size-delimited.ts";

if (process.argv.includes("--help")) {
  process.stdout.write("usage: node test/conformance/server.ts  (run by connectconformance --mode server; see test/conformance/README.md)\n");
  process.exit(0);
}

const input = readSizeDelimited(process.stdin);
const first = await input.next();
if (first.done === true) {
  process.stderr.write("server.ts: no ServerCompatRequest on stdin\n");
  process.exit(1);
}
const req = fromBinary(ServerCompatRequestSchema, first.value);
const pem = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const tls = req.useTls && req.serverCreds !== undefined
  ? { cert: pem(req.serverCreds.cert), key: pem(req.serverCreds.key), ca: req.clientTlsCert.length > 0 ? pem(req.clientTlsCert) : undefined }
  : undefined;

const host = createHost({
  hostname: "127.0.0.1",
  port: 0,
  // JSON needs the registry to write the google.protobuf.Any requests the payloads echo.
  engine: createWeftEngine({ json: { registry: createRegistry(file_connectrpc_conformance_v1_service) } }),
  tuneGc: false,
  logger: process.env.CONFORMANCE_VERBOSE === "1" ? undefined : silentLogger,
  // The suite asks for its limit on request messages; Weft's default otherwise.
  readMaxBytes: req.messageReceiveLimit > 0 ? req.messageReceiveLimit : undefined,
  // The suite judges protocol behaviour, so JSON gets the same limit as binary (not the browser-facing 256 KiB).
  jsonReadMaxBytes: req.messageReceiveLimit > 0 ? req.messageReceiveLimit : 4 * 1024 * 1024,
  tls,
});
host.register(ConformanceService, createConformanceService());
const { port } = await host.listen();
writeSizeDelimited(process.stdout, toBinary(ServerCompatResponseSchema, create(ServerCompatResponseSchema, {
  host: "127.0.0.1",
  port,
  pemCert: tls === undefined ? new Uint8Array() : Buffer.from(tls.cert),
})));

// Serves until the runner signals (it closes stdin right after the request, so EOF means nothing).
const stop = () => void host.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
