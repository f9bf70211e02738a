// npm run bench:recommendations: RecommendForUser over HTTP/2 to a Weft host at a steady rate (default
// 1,000 calls/s for 10 s) while the piscina pool retrains the model back to back; prints latency
// percentiles, errors, trainings (swaps) during the run and the event-loop delay (flags: --help).
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { createHost, silentLogger } from "../../mesh/host/index.ts";
import { loadSeedProducts } from "../../services/catalog/index.ts";
import { createMemoryModelStore, createMemoryOrderLog, createRecommendationService, startModelTrainer } from "../../services/recommendations/index.ts";
import { syntheticOrders } from "./synthetic-orders.ts";

const { values } = readCommandLine({
  usage: "npm run bench:recommendations -- [flags]   (node bench/recommendations/latency.ts)",
  summary: "RecommendForUser over HTTP/2 at a steady rate while the piscina pool retrains back to back: latency percentiles, errors, swaps, event-loop delay.",
  flags: {
    rate: { type: "string", valueName: "N", default: "1000", description: "calls per second (1 to 100000)" },
    seconds: { type: "string", valueName: "N", default: "10", description: "measured seconds (1 to 600)" },
    users: { type: "string", valueName: "N", default: "1500", description: "users in the synthetic order stream (50 to 100000)" },
  },
});
const rate = numberSetting("--rate", values.rate, 1000, { min: 1, max: 100_000, integer: true });
const seconds = numberSetting("--seconds", values.seconds, 10, { min: 1, max: 600, integer: true });
const userCount = numberSetting("--users", values.users, 1500, { min: 50, max: 100_000, integer: true });
const products = await loadSeedProducts();
const { orders: stream } = syntheticOrders({ products, users: userCount, seed: 1 });
const orders = createMemoryOrderLog();
await Promise.all(stream.map((order, i) => orders.record(`e${i}`, order)));
const compute = createPiscinaComputePool({ maxThreads: 1 });
const trainer = await startModelTrainer({ compute, orders, store: createMemoryModelStore(), products, intervalMs: 0 });
const host = createHost({ port: 0, logger: silentLogger });
host.register(RecommendationService, createRecommendationService({ trainer }));
const { url } = await host.listen();
const client = createClient(RecommendationService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
const users = [...new Set(stream.map((o) => o.userId))];

// Warm up, then measure with training running the whole time.
for (let i = 0; i < 200; i++) await client.recommendForUser({ userId: users[i % users.length]! });
let measuring = true;
let trainings = 0;
const training = (async () => {
  while (measuring) {
    await trainer.retrain();
    trainings++;
  }
})();
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const latencies: number[] = [];
let errors = 0;
const inFlight: Array<Promise<void>> = [];
const TICK_MS = 10;
const started = performance.now();
let sent = 0;
while (performance.now() - started < seconds * 1000) {
  const due = Math.floor(((performance.now() - started) / 1000) * rate);
  for (; sent < due; sent++) {
    const t0 = performance.now();
    inFlight.push(
      client.recommendForUser({ userId: users[sent % users.length]! }).then(
        () => void latencies.push(performance.now() - t0),
        () => void errors++,
      ),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}
await Promise.all(inFlight);
measuring = false;
delay.disable();
await training;
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
console.log(`RecommendForUser at ${rate}/s for ${seconds} s over HTTP/2, retraining back to back on piscina (${stream.length} orders, ${products.length} products)`);
console.log(`calls ${latencies.length + errors}, errors ${errors}, trainings finished ${trainings} (last ${trainer.current().model.info.trainingMs} ms, version ${trainer.current().model.info.version})`);
console.log(`latency ms: p50 ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${latencies.at(-1)!.toFixed(2)}`);
console.log(`event-loop delay ms: p50 ${(delay.percentile(50) / 1e6).toFixed(2)}, p99 ${(delay.percentile(99) / 1e6).toFixed(2)}, max ${(delay.max / 1e6).toFixed(2)}`);
await host.close();
await trainer.close();
await compute.close();
