// Events/s published (each publish waits for the JetStream ack) and consumed (explicit ack) on the
// JetStream event bus, and beside it in the same run raw `js.publish` of the same encoded bytes (with a
// Nats-Msg-Id, no envelope): rounds alternate typed and raw so a shared machine's load falls on both.
// Each path first publishes in one-second windows until its events/s stop rising (bench/lib/steady-state.ts);
// both cores' speed is probed around every round, and rounds in a slow spell leave the medians.
// Usage: node bench/backends/events.ts [events=20000] [publishers=256] [concurrency=64] [--rounds 3]
//        [--warmup 3] [--max-warmup 20] [--quick]
// Env: NATS_URL (default nats://127.0.0.1:4222). Uses its own stream names and deletes them after.
import { create, toBinary } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { loadavg } from "node:os";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { numberSetting, readCommandLine, runMain } from "../../mesh/errors/index.ts";
import { createJetStreamEventBus, eventNames } from "../../mesh/events/index.ts";
import { connectNats } from "../../mesh/node/index.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { median } from "../lib/stats.ts";
import { describeWarmUp, warmUntilSteady } from "../lib/steady-state.ts";
import { warmUpFlags, warmUpBounds } from "../lib/warm-up-flags.ts";

// Each path's warm-up: at least 3 s, then until its events/s stop rising, at most 20 s.
const WARM_UP = { minS: 3, maxS: 20, quickS: 0.3, until: "each path's events/s stop rising" };
const { positionals, values } = readCommandLine({
  usage: "node bench/backends/events.ts [events] [publishers] [concurrency] [--rounds N]   (part of npm run bench:backends)",
  summary: "Events/s published (each waits for the JetStream ack) and consumed (explicit ack) on the JetStream event bus,\nand raw js.publish of the same bytes in the same run, on streams of its own that it deletes after.",
  flags: {
    rounds: { type: "string", valueName: "N", defaultText: "3", description: "typed and raw publish rounds, alternating (each publishes `events`)" },
    ...warmUpFlags(WARM_UP),
    quick: { type: "boolean", default: false, description: "a fixed 0.3 s warm-up and no core probe: checks that it runs, says nothing about speed" },
  },
  positionals: [
    { name: "events", description: "events published and consumed (default 20000)" },
    { name: "publishers", description: "publishes in flight (default 256)" },
    { name: "concurrency", description: "consumer concurrency (default 64)" },
  ],
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS with JetStream" }],
});
const events = numberSetting("events", positionals[0], 20_000, { min: 1, integer: true });
const publishers = numberSetting("publishers", positionals[1], 256, { min: 1, integer: true });
const concurrency = numberSetting("concurrency", positionals[2], 64, { min: 1, integer: true });
const rounds = numberSetting("--rounds", values.rounds, 3, { min: 1, max: 20, integer: true });
const quick = values.quick === true;
const warmUp = warmUpBounds(values, WARM_UP, quick);
const servers = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const prefix = `bench${Date.now().toString(36)}`;
const nc = await runMain(() => connectNats({ servers }));
const bus = await createJetStreamEventBus({ connection: nc, source: "bench", prefix });
const consumerConnection = await runMain(() => connectNats({ servers }));
const consumerBus = await createJetStreamEventBus({ connection: consumerConnection, source: "bench", prefix, pullExpiresMs: 1_000 });
const event = { orderId: "o-1", userId: "u-1", items: [{ productId: "p-1", quantity: 2, unitPriceCents: 1999n }], totalCents: 3998n };

const subject = eventNames(OrderPlacedSchema, prefix).subject;
const js = jetstream(nc);
const bytes = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, event));

interface Round {
  /** Events/s. */
  readonly rate: number;
  /** This process's CPU time (user + system) per event, in microseconds: what the client path costs, whatever the machine's load. */
  readonly cpuUs: number;
  /** Both cores' speed just before and after the round (this process is not pinned: either core counts). */
  readonly probe?: RunProbes;
}

/** Events published so far (warm-up windows included): what the consumer must see. */
let published = 0;

/** Publishes with `publishers` in flight while `more()` says so (asked before each publish). */
async function publishWhile(more: () => boolean, publishOne: () => Promise<unknown>): Promise<Round> {
  let n = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async () => {
      while (more()) {
        await publishOne();
        n++;
      }
    }),
  );
  published += n;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: n / seconds, cpuUs: (used.user + used.system) / Math.max(n, 1) };
}

/** Publishes `count` events with `publishers` in flight. */
function publishRound(count: number, publishOne: () => Promise<unknown>): Promise<Round> {
  let next = 0;
  return publishWhile(() => next++ < count, publishOne);
}

/** Events/s of `publishOne` with `publishers` in flight for one window of `ms`. */
async function publishFor(ms: number, publishOne: () => Promise<unknown>): Promise<number> {
  const until = performance.now() + ms;
  return (await publishWhile(() => performance.now() < until, publishOne)).rate;
}

const typedPublish = () => bus.publish(OrderPlacedSchema, event);
// What a hand-written publisher sends: the same encoded bytes and a dedupe id, without the envelope.
const rawPublish = () => js.publish(subject, bytes, { msgID: crypto.randomUUID() });

// Warm up each path (stream creation, JIT) in one-second windows until its events/s stop rising.
const windowMs = Math.min(1000, Math.max(warmUp.minMs, 100));
const warmTyped = await warmUntilSteady(() => publishFor(windowMs, typedPublish), warmUp);
const warmRaw = await warmUntilSteady(() => publishFor(windowMs, rawPublish), warmUp);

const typed: Round[] = [];
const raw: Round[] = [];
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so a trend in the machine's load does not favour one.
  const pair = round % 2 === 0 ? [typed, raw] : [raw, typed];
  for (const list of pair) {
    const { value, probe } = await betweenProbes(() => publishRound(events, list === typed ? typedPublish : rawPublish), !quick);
    list.push({ ...value, ...(probe === undefined ? {} : { probe }) });
  }
}
// Rounds in a slow spell of either core leave the medians, and their pairs leave the ratios.
const slow = slowRunFilter([...typed, ...raw], (r) => r.probe);
const typedCounted = slow.counted(typed);
const rawCounted = slow.counted(raw);
// Each typed round against the raw round beside it: the load of the moment falls on both.
const pairs = typed.map((t, i) => [t, raw[i]] as const);
const fastPairs = pairs.filter(([t, r]) => !slow.isSlow(t) && !slow.isSlow(r));
const pairedRatios = (fastPairs.length > 0 ? fastPairs : pairs).map(([t, r]) => t.rate / r.rate);

let consumed = 0;
const total = published;
let done!: () => void;
const finished = new Promise<void>((resolve) => (done = resolve));
const consumeStarted = performance.now();
const sub = await consumerBus.subscribe(
  OrderPlacedSchema,
  "bench",
  async () => {
    if (++consumed === total) done();
  },
  { concurrency },
);
await finished;
const consumeSeconds = (performance.now() - consumeStarted) / 1000;
await sub.drain();

console.log(
  JSON.stringify({
    events,
    publishers,
    concurrency,
    rounds,
    publishedPerSecond: Math.round(median(typedCounted.map((r) => r.rate))),
    rawPublishedPerSecond: Math.round(median(rawCounted.map((r) => r.rate))),
    typedOverRaw: Number(median(pairedRatios).toFixed(3)),
    typedOverRawRounds: pairedRatios.map((r) => Number(r.toFixed(3))),
    typedCpuUsPerEvent: Number(median(typedCounted.map((r) => r.cpuUs)).toFixed(1)),
    rawCpuUsPerEvent: Number(median(rawCounted.map((r) => r.cpuUs)).toFixed(1)),
    // Every round, a slow-spell round marked "*" (left out of the medians and ratios above).
    typedRounds: typed.map((r) => `${Math.round(r.rate)}${slow.isSlow(r) ? "*" : ""}`),
    rawRounds: raw.map((r) => `${Math.round(r.rate)}${slow.isSlow(r) ? "*" : ""}`),
    slowRounds: [...typed, ...raw].filter(slow.isSlow).length,
    droppedRounds: typed.length - typedCounted.length + raw.length - rawCounted.length,
    slowCores: slow.note([typed, raw]),
    warmUp: { typed: describeWarmUp(warmTyped), raw: describeWarmUp(warmRaw) },
    consumedPerSecond: Math.round(total / consumeSeconds),
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  }),
);
await consumerBus.close();
await bus.close();
const jsm = await jetstreamManager(nc);
const names = eventNames(OrderPlacedSchema, prefix);
await jsm.streams.delete(names.stream).catch(() => {});
await jsm.streams.delete(names.deadLetterStream).catch(() => {});
await consumerConnection.close();
await nc.close();
