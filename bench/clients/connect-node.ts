// @connectrpc/connect-node client (createGrpcTransport, HTTP/2, one session) calling UnaryCall with N
// calls in flight.
//
// Usage: node bench/clients/connect-node.ts --port P --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { benchRequest, isBenchResponse } from "../lib/bench-request.ts";
import { packageVersion } from "../lib/package-version.ts";
import { drive, readDriveArgs, report } from "./drive.ts";

const args = readDriveArgs({ usage: "node bench/clients/connect-node.ts --port P --concurrency N --warmup-ms MS --duration-ms MS   (started by npm run bench)", summary: "@connectrpc/connect-node client (createGrpcTransport, HTTP/2, one session) calling UnaryCall with N calls in flight." });
const client = createClient(TestService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${args.port}` }));

const result = await drive(() => client.unaryCall(benchRequest), isBenchResponse, {
  ...args,
  detail: `@connectrpc/connect-node ${packageVersion("@connectrpc/connect-node")} createGrpcTransport (HTTP/2)`,
});
report(result);
process.exit(0);
