// The gRPC ceiling: node:http2 with hand-written gRPC framing and no protobuf codec. It checks the
// path, the content type and the request frame, then answers the fixed response frame that every other
// server computes with a codec. Nothing slower than this is possible on node:http2.
//
// Usage: node bench/servers/raw-http2.ts --mode h2

import * as http2 from "node:http2";
import { BENCH_PATH, grpcResponseFrame } from "../lib/bench-request.ts";
import { announceReady, closeOnSignal, readServerMode } from "./child-protocol.ts";

readServerMode({ usage: "node bench/servers/raw-http2.ts --mode h2|h1   (started by npm run bench)", summary: "The gRPC ceiling: node:http2 with hand-written gRPC framing and no protobuf codec. It checks the path, the content type and the request frame, then answers the fixed response frame that every other server computes with a codec. Nothing slower than this is possible on node:http2." }); // only h2 exists; validates the flag anyway

const server = http2.createServer();

server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const contentType = headers["content-type"];
  if (headers[":path"] !== BENCH_PATH || typeof contentType !== "string" || !contentType.startsWith("application/grpc")) {
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
    return;
  }
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "13" }, { endStream: true });
      return;
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(grpcResponseFrame);
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  announceReady(address.port, `node:http2 ${process.version}, hand-written gRPC framing, fixed response`);
});
closeOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())));
