// A loopback port that was free a moment ago, for programs that cannot report the port they bound
// (Jaeger, Prometheus). Another process may take it in between: prefer port 0 wherever a server
// reports what it got.

import { createServer } from "node:net";

/** A port on 127.0.0.1 that nothing listened on when this was called. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
