// Events/s published (each publish waits for the JetStream ack) and consumed (explicit ack) on the
// JetStream event bus, and beside it in the same run raw `js.publish` of the same encoded bytes (with a
// Nats-Msg-Id, no envelope): rounds alternate typed and raw so a shared machine's load falls on both.
// Usage: node bench/backends/events.ts [events=20000] [publishers=256] [concurrency=64] [--rounds 3]
// Env: NATS_URL (default nats://127.0.0.1:4222). Uses its own stream names and deletes them after.
import { create, toBinary } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { loadavg } from "node:os";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { numberSetting, readCommandLine, runMain } from "../../mesh/errors/index.ts";
import { createJetStreamEventBus, eventNames } from "../../mesh/events/index.ts";
import { connectNats } from "../../mesh/node/index.ts";

const { positionals, values } = readCommandLine({
  usage: "node bench/backends/events.ts [events] [publishers] [concurrency] [--rounds N]   (part of npm run bench:backends)",
  summary: "Events/s published (each waits for the JetStream ack) and consumed (explicit ack) on the JetStream event bus,\nand raw js.publish of the same bytes in the same run, on streams of its own that it deletes after.",
  flags: { rounds: { type: "string", valueName: "N", defaultText: "3", description: "typed and raw publish rounds, alternating (each publishes `events`)" } },
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
}

/** Publishes `count` events with `publishers` in flight. */
async function publishRound(count: number, publishOne: () => Promise<unknown>): Promise<Round> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async () => {
      while (next++ < count) await publishOne();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: count / seconds, cpuUs: (used.user + used.system) / count };
}
const typedPublish = () => bus.publish(OrderPlacedSchema, event);
// What a hand-written publisher sends: the same encoded bytes and a dedupe id, without the envelope.
const rawPublish = () => js.publish(subject, bytes, { msgID: crypto.randomUUID() });

// Warm up (stream creation, JIT) both paths.
for (let i = 0; i < 200; i++) await typedPublish();
for (let i = 0; i < 200; i++) await rawPublish();

const typed: Round[] = [];
const raw: Round[] = [];
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so a trend in the machine's load does not favour one.
  const pair = round % 2 === 0 ? [typed, raw] : [raw, typed];
  for (const list of pair) list.push(await publishRound(events, list === typed ? typedPublish : rawPublish));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Each typed round against the raw round beside it: the load of the moment falls on both.
const pairedRatios = typed.map((t, i) => t.rate / raw[i].rate);

let consumed = 0;
const total = 400 + 2 * rounds * events;
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
    publishedPerSecond: Math.round(median(typed.map((r) => r.rate))),
    rawPublishedPerSecond: Math.round(median(raw.map((r) => r.rate))),
    typedOverRaw: Number(median(pairedRatios).toFixed(3)),
    typedOverRawRounds: pairedRatios.map((r) => Number(r.toFixed(3))),
    typedCpuUsPerEvent: Number(median(typed.map((r) => r.cpuUs)).toFixed(1)),
    rawCpuUsPerEvent: Number(median(raw.map((r) => r.cpuUs)).toFixed(1)),
    typedRounds: typed.map((r) => Math.round(r.rate)),
    rawRounds: raw.map((r) => Math.round(r.rate)),
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
