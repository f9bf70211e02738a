// The HTTP/1.1 JSON ceiling: node:http that parses the JSON request body and answers the fixed Connect
// JSON response, with no framework and no protobuf codec.
//
// Usage: node bench/servers/raw-http1.ts --mode h1

import * as http from "node:http";
import { BENCH_PATH, jsonResponseBody } from "../lib/bench-request.ts";
import { announceReady, closeOnSignal, readServerMode } from "./child-protocol.ts";

readServerMode({ usage: "node bench/servers/raw-http1.ts --mode h2|h1   (started by npm run bench)", summary: "The HTTP/1.1 JSON ceiling: node:http that parses the JSON request body and answers the fixed Connect JSON response, with no framework and no protobuf codec." });

const responseBytes = Buffer.from(jsonResponseBody);

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || req.url !== BENCH_PATH) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    let request: unknown;
    try {
      request = JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString());
    } catch {
      request = undefined;
    }
    if (typeof request !== "object" || request === null || typeof (request as { responseSize?: unknown }).responseSize !== "number") {
      res.writeHead(400, { "content-type": "application/json" }).end('{"code":"invalid_argument"}');
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": responseBytes.length });
    res.end(responseBytes);
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  announceReady(address.port, `node:http ${process.version}, JSON.parse + fixed response`);
});
closeOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())));
