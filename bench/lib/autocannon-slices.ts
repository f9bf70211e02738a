// autocannon kept running between the slices of a paired measurement (slice-sides.ts): one process on
// the load core, each `{"slice":MS}` line on stdin one programmatic autocannon run with the same flags as
// the CLI runs (64 connections, no pipelining, the Connect JSON request, every body compared), answered
// with autocannon's result as one JSON line. A new CLI process per one-second slice spent part of each
// slice compiling autocannon itself, and that share varied from slice to slice.
//
// Usage (started by npm run bench): node bench/lib/autocannon-slices.ts --url URL --body JSON --expect-body JSON

import { createRequire } from "node:module";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { sliceRequests } from "./slice-commands.ts";

/** The part of autocannon's programmatic API used here (the package ships no types). */
type Autocannon = (options: Record<string, unknown>) => Promise<Record<string, unknown>>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = readCommandLine({
  usage: "node bench/lib/autocannon-slices.ts --url URL --body JSON --expect-body JSON   (started by npm run bench)",
  summary: "autocannon in slice mode: one run per {\"slice\":MS} line on stdin, its JSON result on stdout.",
  flags: {
    url: { type: "string", valueName: "URL", description: "where to POST (required)" },
    body: { type: "string", valueName: "JSON", description: "the request body (required)" },
    "expect-body": { type: "string", valueName: "JSON", description: "the exact expected response body (required)" },
  },
});
if (values.url === undefined || values.body === undefined || values["expect-body"] === undefined) throw new Error("--url, --body and --expect-body are required");

process.stdout.write(`${JSON.stringify({ phase: "ready" })}\n`);
for await (const ms of sliceRequests()) {
  const result = await autocannon({
    url: values.url,
    connections: 64,
    pipelining: 1,
    duration: ms / 1000,
    method: "POST",
    headers: { "content-type": "application/json", "connect-protocol-version": "1" },
    body: values.body,
    expectBody: values["expect-body"],
  });
  process.stdout.write(`${JSON.stringify({ slice: true, result })}\n`);
}
process.exit(0);
