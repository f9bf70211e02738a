// @grpc/grpc-js serving TestService loaded with @grpc/proto-loader from proto/ (the way most grpc-js
// users write servers).
//
// Usage: node bench/servers/grpc-js.ts --mode h2

import * as grpc from "@grpc/grpc-js";
import { grpcJsTestServiceImpl, loadTestServiceDefinition } from "../lib/grpc-js-definition.ts";
import { packageVersion } from "../lib/package-version.ts";
import { announceReady, closeOnSignal, readServerMode } from "./child-protocol.ts";

readServerMode({ usage: "node bench/servers/grpc-js.ts --mode h2|h1   (started by npm run bench)", summary: "@grpc/grpc-js serving TestService loaded with @grpc/proto-loader from proto/ (the way most grpc-js users write servers)." });

const version = packageVersion("@grpc/grpc-js");

const server = new grpc.Server();
server.addService(loadTestServiceDefinition(), grpcJsTestServiceImpl);

server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announceReady(port, `@grpc/grpc-js ${version}, @grpc/proto-loader`);
});
closeOnSignal(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
