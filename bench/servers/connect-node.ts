// @connectrpc/connect-node's adapter (connectNodeAdapter) on node:http2 (h2c, for gRPC) or node:http
// (HTTP/1.1, for Connect JSON), serving the shared TestService handlers.
//
// Usage: node bench/servers/connect-node.ts --mode h2|h1

import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as http from "node:http";
import * as http2 from "node:http2";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { packageVersion } from "../lib/package-version.ts";
import { announceReady, closeOnSignal, readServerMode } from "./child-protocol.ts";
import { createTestServiceImpl } from "../../test/support/test-service.ts";

// The same handlers in every benchmark server; they never read request headers or name the server.
const benchTestService = createTestServiceImpl({ servedBy: "", echoMetadata: false });

const mode = readServerMode({ usage: "node bench/servers/connect-node.ts --mode h2|h1   (started by npm run bench)", summary: "@connectrpc/connect-node's adapter (connectNodeAdapter) on node:http2 (h2c, for gRPC) or node:http (HTTP/1.1, for Connect JSON), serving the shared TestService handlers." });
const version = packageVersion("@connectrpc/connect-node");

const handler = connectNodeAdapter({ routes: (router) => router.service(TestService, benchTestService) });
const server = mode === "h2" ? http2.createServer(handler) : http.createServer(handler);

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  announceReady(address.port, `@connectrpc/connect-node ${version}, connectNodeAdapter on node:${mode === "h2" ? "http2" : "http"}`);
});
closeOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())));
