// A Moleculer 0.15 broker over NATS calling `test.unaryCall` on the service broker (another process)
// with N calls in flight.
//
// Usage: node bench/mesh/moleculer-client.ts --namespace NS --port 0 --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import { ServiceBroker } from "moleculer";
import { drive, readDriveArgs, report } from "../clients/drive.ts";
import { BENCH_PAYLOAD_BYTES } from "../lib/bench-request.ts";

const args = readDriveArgs({
  usage: "node bench/mesh/moleculer-client.ts --namespace NS --port 0 --concurrency N --warmup-ms MS --duration-ms MS   (started by npm run bench:mesh)",
  summary: "A Moleculer 0.15 broker over NATS calling `test.unaryCall` on the service broker (another process) with N calls in flight.",
  flags: { namespace: { type: "string", valueName: "NS", defaultText: "weftbench", description: "Moleculer namespace of this run" } },
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS server" }],
});
const namespace = args.values.namespace ?? "weftbench";
const broker = new ServiceBroker({ namespace, nodeID: `caller-${process.pid}`, transporter: { type: "NATS", options: { url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" } }, logger: false });
await broker.start();
await broker.waitForServices(["test"], 10_000);
const params = { responseSize: BENCH_PAYLOAD_BYTES, payload: "a".repeat(BENCH_PAYLOAD_BYTES) };
const result = await drive(
  () => broker.call("test.unaryCall", params) as Promise<{ payload: string }>,
  (res) => res.payload.length === BENCH_PAYLOAD_BYTES,
  { ...args, detail: "moleculer broker.call over NATS, another process" },
);
await broker.stop();
report(result);
process.exit(0);
