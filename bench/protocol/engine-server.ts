// Serves weft.testing.v1.TestService with Weft's engine, for benchmarks and manual pokes:
//   node bench/protocol/engine-server.ts [port]      (default port 0: prints the one it got)
// Prints one JSON line {"port": N, "url": "..."} on stdout once listening; exits on SIGTERM/SIGINT.

import { serveWeft } from "../../mesh/protocol/index.ts";
import { testServiceRegistration } from "../../test/support/test-service.ts";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const server = await serveWeft({ services: [testServiceRegistration()], port, host: process.env.HOST ?? "127.0.0.1" });
process.stdout.write(JSON.stringify({ port: server.port, url: server.url }) + "\n");
const stop = () => {
  server.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
