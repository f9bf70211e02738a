// Drives weft.testing.v1.TestService/EmptyCall with Weft's gRPC transport, for benchmarks:
//   node bench/protocol/grpc-load.ts <baseUrl> [inFlight=64] [seconds=5] [warmupCalls=2000]
// Prints one JSON line: {"calls": N, "seconds": S, "callsPerSecond": R, "cpuMicrosPerCall": C, "errors": E}.
// Every response is checked (type name); a failed call counts as an error, and errors > 0 exits 1.

import { createClient } from "@connectrpc/connect";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";

const [baseUrl, inFlightArg, secondsArg, warmupArg] = process.argv.slice(2);
if (baseUrl === undefined) {
  process.stderr.write("usage: node bench/protocol/grpc-load.ts <baseUrl> [inFlight] [seconds] [warmupCalls]\n");
  process.exit(2);
}
const inFlight = Number(inFlightArg ?? 64);
const seconds = Number(secondsArg ?? 5);
const warmup = Number(warmupArg ?? 2000);
const transport = createWeftGrpcTransport({ baseUrl, maxConcurrentCalls: Math.max(inFlight, 1) });
const client = createClient(TestService, transport);

let calls = 0;
let errors = 0;
const one = async () => {
  try {
    const r = await client.emptyCall({});
    if (r.$typeName !== "weft.testing.v1.EmptyCallResponse") errors++;
  } catch {
    errors++;
  }
};
for (let i = 0; i < warmup; i += inFlight) await Promise.all(Array.from({ length: Math.min(inFlight, warmup - i) }, one));
errors = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const deadline = t0 + seconds * 1000;
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (performance.now() < deadline) {
    await one();
    calls++;
  }
}));
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
transport.close();
process.stdout.write(JSON.stringify({
  calls, seconds: Number(elapsed.toFixed(3)), callsPerSecond: Math.round(calls / elapsed),
  cpuMicrosPerCall: Number(((cpu.user + cpu.system) / Math.max(calls, 1)).toFixed(1)), errors,
}) + "\n");
process.exit(errors > 0 ? 1 : 0);
