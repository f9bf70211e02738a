// A Moleculer 0.15 broker over NATS calling `test.unaryCall` on the service broker (another process)
// with N calls in flight.
//
// Usage: node bench/mesh/moleculer-client.ts --namespace NS --port 0 --concurrency 64 --warmup-ms 2000 --duration-ms 5000

import { ServiceBroker } from "moleculer";
import { drive, parseDriveArgs, report } from "../clients/drive.ts";
import { BENCH_PAYLOAD_BYTES } from "../lib/bench-request.ts";

const i = process.argv.indexOf("--namespace");
const namespace = i >= 0 ? process.argv[i + 1] : "weftbench";
const args = parseDriveArgs(process.argv);
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
