// Events/s published (each publish waits for the JetStream ack) and consumed (explicit ack) on the
// JetStream event bus. Usage: node bench/backends/events.ts [events=20000] [publishers=256] [concurrency=64]
// Env: NATS_URL (default nats://127.0.0.1:4222). Uses its own stream names and deletes them after.
import { jetstreamManager } from "@nats-io/jetstream";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { numberSetting, readCommandLine, runMain } from "../../mesh/errors/index.ts";
import { createJetStreamEventBus, eventNames } from "../../mesh/events/index.ts";
import { connectNats } from "../../mesh/node/index.ts";

const { positionals } = readCommandLine({
  usage: "node bench/backends/events.ts [events] [publishers] [concurrency]   (part of npm run bench:backends)",
  summary: "Events/s published (each waits for the JetStream ack) and consumed (explicit ack) on the JetStream event bus,\non streams of its own that it deletes after.",
  flags: {},
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
const servers = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const prefix = `bench${Date.now().toString(36)}`;
const nc = await runMain(() => connectNats({ servers }));
const bus = await createJetStreamEventBus({ connection: nc, source: "bench", prefix });
const consumerConnection = await runMain(() => connectNats({ servers }));
const consumerBus = await createJetStreamEventBus({ connection: consumerConnection, source: "bench", prefix, pullExpiresMs: 1_000 });
const event = { orderId: "o-1", userId: "u-1", items: [{ productId: "p-1", quantity: 2, unitPriceCents: 1999n }], totalCents: 3998n };

// Warm up (stream creation, JIT).
for (let i = 0; i < 200; i++) await bus.publish(OrderPlacedSchema, event);

let next = 0;
const publishStarted = performance.now();
await Promise.all(
  Array.from({ length: publishers }, async () => {
    while (next++ < events) await bus.publish(OrderPlacedSchema, event);
  }),
);
const publishSeconds = (performance.now() - publishStarted) / 1000;

let consumed = 0;
const total = events + 200;
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
    publishedPerSecond: Math.round(events / publishSeconds),
    consumedPerSecond: Math.round(total / consumeSeconds),
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
