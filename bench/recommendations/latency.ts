// npm run bench:recommendations: RecommendForUser over gRPC (HTTP/2) to a Weft host at a steady rate (default
// 1,000 calls/s for 10 s) while the piscina pool retrains the model back to back; prints latency
// percentiles, errors, trainings (swaps) during the run and the event-loop delay (flags: --help). The
// warm-up runs at the same rate with training on, in one-second windows, for at least --warmup s and
// then until the p50 stops falling (at most --max-warmup s); both cores' speed is probed before the
// warm-up and after the measured window and a run in a slow spell is marked.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { probeCores } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { median } from "../lib/stats.ts";
import { describeWarmUp, stoppedFalling, warmUntil } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";
import { createClient } from "@connectrpc/connect";
import { RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { createHost, silentLogger } from "../../mesh/host/index.ts";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { loadSeedProducts } from "../../services/catalog/index.ts";
import { createMemoryModelStore, createMemoryOrderLog, createRecommendationService, startModelTrainer } from "../../services/recommendations/index.ts";
import { syntheticOrders } from "./synthetic-orders.ts";

// At a fixed offered rate the latency settles, not the rate: at least 3 s, then until p50 stops falling, at most 20 s.
const WARM_UP = { minS: 3, maxS: 20, until: "the p50 stops falling" };

const { values } = readCommandLine({
  usage: "npm run bench:recommendations -- [flags]   (node bench/recommendations/latency.ts)",
  summary: "RecommendForUser over gRPC (Weft's client, HTTP/2) at a steady rate while the piscina pool retrains back to back: latency percentiles, errors, swaps, event-loop delay.",
  flags: {
    rate: { type: "string", valueName: "N", default: "1000", description: "calls per second (1 to 100000)" },
    seconds: { type: "string", valueName: "N", default: "10", description: "measured seconds (1 to 600)" },
    users: { type: "string", valueName: "N", default: "1500", description: "users in the synthetic order stream (50 to 100000)" },
    ...warmUpFlags(WARM_UP),
  },
});
const rate = numberSetting("--rate", values.rate, 1000, { min: 1, max: 100_000, integer: true });
const seconds = numberSetting("--seconds", values.seconds, 10, { min: 1, max: 600, integer: true });
const userCount = numberSetting("--users", values.users, 1500, { min: 50, max: 100_000, integer: true });
const warmUp = warmUpBounds(values, WARM_UP, false);
const products = await loadSeedProducts();
const { orders: stream } = syntheticOrders({ products, users: userCount, seed: 1 });
const orders = createMemoryOrderLog();
await Promise.all(stream.map((order, i) => orders.record(`e${i}`, order)));
const compute = createPiscinaComputePool({ maxThreads: 1 });
const trainer = await startModelTrainer({ compute, orders, store: createMemoryModelStore(), products, intervalMs: 0 });
const host = createHost({ port: 0, logger: silentLogger });
host.register(RecommendationService, createRecommendationService({ trainer }));
const { url } = await host.listen();
// Weft's own gRPC client, not connect-node's: the load shares this process's heap, and connect-node's
// client allocated most of its ~90 KB per call (a heap profile), so its young-generation GC pauses of
// 12-60 ms were what the p99 measured, with or without training.
const client = createClient(RecommendationService, createWeftGrpcTransport({ baseUrl: url }));
const users = [...new Set(stream.map((o) => o.userId))];

// Both cores' speed before training starts and after it stops (training fills a core: a probe beside it
// would time the training, not the core).
const probeBefore = await probeCores();
// Training runs the whole time, warm-up included: the latency measured is the latency beside it.
let measuring = true;
let trainings = 0;
const training = (async () => {
  while (measuring) {
    await trainer.retrain();
    trainings++;
  }
})();
let errors = 0;
const TICK_MS = 10;
/** Offers `rate` calls per second for `ms`, on a schedule whatever the answers; resolves with the latencies once all answered. */
async function offer(ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const inFlight: Array<Promise<void>> = [];
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < ms) {
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
  return latencies;
}
const warm = await warmUntil(async () => {
  const window = await offer(1000);
  return window.length > 0 ? median(window) : Number.POSITIVE_INFINITY;
}, (p50s) => stoppedFalling(p50s), warmUp);
const warmUpErrors = errors;
errors = 0;
const trainingsBefore = trainings;
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const latencies = await offer(seconds * 1000);
measuring = false;
delay.disable();
await training;
trainings -= trainingsBefore;
const probe = { before: probeBefore, after: await probeCores() };
const slowCore = slowRunFilter([probe], (p) => p).isSlow(probe);
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
console.log(`RecommendForUser at ${rate}/s for ${seconds} s over gRPC (HTTP/2), retraining back to back on piscina (${stream.length} orders, ${products.length} products)`);
console.log(`warm-up ${describeWarmUp(warm, "still falling")} at the same rate; core speed probe before / after (core 0, core 1): ${[probe.before, probe.after].map((p) => `${p.serverMs.toFixed(1)}, ${p.loadMs.toFixed(1)} ms`).join(" / ")}${slowCore ? " * slow spell during the run: not a verdict" : ""}${warmUpErrors > 0 ? `; ${warmUpErrors} errors during the warm-up` : ""}`);
console.log(`calls ${latencies.length + errors}, errors ${errors}, trainings finished ${trainings} (last ${trainer.current()!.model.info.trainingMs} ms, version ${trainer.current()!.model.info.version})`);
console.log(`latency ms: p50 ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${latencies.at(-1)!.toFixed(2)}`);
console.log(`event-loop delay ms: p50 ${(delay.percentile(50) / 1e6).toFixed(2)}, p99 ${(delay.percentile(99) / 1e6).toFixed(2)}, max ${(delay.max / 1e6).toFixed(2)}`);
await host.close();
await trainer.close();
await compute.close();
