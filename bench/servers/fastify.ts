// fastify 5 serving the Connect JSON unary route as a plain JSON POST route, with a response schema
// (fast-json-stringify), the way fastify recommends for speed.
//
// Usage: node bench/servers/fastify.ts --mode h1

import Fastify from "fastify";
import { BENCH_PATH, BENCH_PAYLOAD_BYTES } from "../lib/bench-request.ts";
import { packageVersion } from "../lib/package-version.ts";
import { announceReady, closeOnSignal, readServerMode } from "./child-protocol.ts";

readServerMode({ usage: "node bench/servers/fastify.ts --mode h2|h1   (started by npm run bench)", summary: "fastify 5 serving the Connect JSON unary route as a plain JSON POST route, with a response schema (fast-json-stringify), the way fastify recommends for speed." });

const version = packageVersion("fastify");
const app = Fastify({ logger: false });

app.post(
  BENCH_PATH,
  {
    schema: {
      body: {
        type: "object",
        properties: { responseSize: { type: "integer", minimum: 0, maximum: 4194304 } },
        required: ["responseSize"],
      },
      response: {
        200: {
          type: "object",
          properties: { payload: { type: "object", properties: { body: { type: "string" } } } },
        },
      },
    },
  },
  async (request) => {
    const { responseSize } = request.body as { responseSize: number };
    return { payload: { body: Buffer.alloc(responseSize).toString("base64") } };
  },
);

const address = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(Number(new URL(address).port), `fastify ${version}, JSON schema route (payload ${BENCH_PAYLOAD_BYTES} B)`);
closeOnSignal(() => app.close());
