import { create, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { context, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { startPublishSpan } from "../telemetry/index.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { abortError, EventsOptionsError } from "../errors/index.ts";
import { createIsoClock, envelopeHeaders } from "./envelope.ts";
import { createJetStreamPublisher } from "./jetstream-publisher.ts";
import type { DeadLetter, EventBus, PublishOptions, SubscribeOptions, Subscription } from "./event-bus.ts";
import { checkPrefix, deadLetterSubject, durableName, eventNames } from "./event-names.ts";
import type { EventNames } from "./event-names.ts";
import { ensureConsumer, ensureStreams } from "./jetstream-setup.ts";
import { startSubscription } from "./jetstream-subscription.ts";
import type { EventFlows } from "./event-flows.ts";
import { isTransientNatsError, natsToConnectError } from "./nats-errors.ts";
import { parseSubscribeOptions } from "./subscribe-options.ts";
import type { Metrics, ValueCell } from "../telemetry/index.ts";
import { redactText } from "../engine/index.ts";

/** Options for `createJetStreamEventBus`. */
export interface JetStreamEventBusOptions {
  /** Name of this service: the envelope's `source`. Required. */
  readonly source: string;
  /** A connection the caller owns (left open by `close()`). Either this or `servers`. */
  readonly connection?: NatsConnection;
  /** Servers to connect to (the bus owns and drains this connection), e.g. `"nats://127.0.0.1:4222"`. */
  readonly servers?: string | string[];
  /** Namespaces streams and subjects (letters and digits), for tests and shared servers. Default `""`. */
  readonly prefix?: string;
  /** Events older than this are dropped from the domain stream. Default 7 days. */
  readonly streamMaxAgeMs?: number;
  /** Most bytes a domain stream keeps; the oldest events go first. Default 1 GiB. */
  readonly streamMaxBytes?: number;
  /** Dead letters older than this are dropped. Default 14 days. */
  readonly deadLetterMaxAgeMs?: number;
  /** A publish repeating an id within this window is stored once. Default 120,000 (2 minutes). */
  readonly duplicateWindowMs?: number;
  /** Stream replicas in a NATS cluster. Default 1. */
  readonly replicas?: number;
  /** Time a delivered event may stay unacknowledged before the server redelivers it. Default 30,000. */
  readonly ackWaitMs?: number;
  /**
   * A handler still running after this long stops extending its ack deadline, so the event is
   * redelivered (a hung handler cannot hold an event forever). Default 300,000 (5 minutes).
   */
  readonly maxHandlerMs?: number;
  /** Most unacknowledged events per durable consumer, across its replicas. Default 1,000. */
  readonly maxAckPending?: number;
  /** How long one pull waits for events (at least 1,000). Default 30,000. */
  readonly pullExpiresMs?: number;
  /**
   * Idle heartbeat the server sends a waiting pull (500 to half of pullExpiresMs); after two missed
   * the pull is renewed, so losing the consumer's leader in a cluster stalls it about twice this.
   * Default 1,000 (500 for pulls of 1,000 to 1,999 ms).
   */
  readonly pullHeartbeatMs?: number;
  /** First redelivery delay after a handler throws; doubles per delivery. Default 1,000. */
  readonly redeliveryDelayMs?: number;
  /** Cap on the redelivery delay. Default 30,000. */
  readonly maxRedeliveryDelayMs?: number;
  /** Wait for one publish attempt's ack. Default 2,000. */
  readonly publishAttemptTimeoutMs?: number;
  /**
   * Total time a publish keeps retrying (same id, so stored once) while the broker is unreachable or a
   * replicated stream elects a new leader (seconds: nats-server's randomised election timeout). Default 15,000.
   */
  readonly publishTimeoutMs?: number;
  /** Called for every dead-lettered event (after it is stored on the dead-letter subject). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /** Called for failures a subscription recovers from by itself. Default: nothing. */
  readonly onError?: (err: unknown) => void;
  /** Where publishes, consumptions, redeliveries, dead letters and consumer lag are counted (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
  /** Where this bus records the streams it publishes to and consumes from (the admin API's topology). Default: none. */
  readonly flows?: EventFlows;
  /** Records a PRODUCER span per publish and a CONSUMER span per delivery (mesh/telemetry). Default none. */
  readonly tracer?: Tracer;
}

const DAY_MS = 86_400_000;
/** First pause between publish attempts; doubles, with jitter, up to PUBLISH_MAX_BACKOFF_MS. */
const PUBLISH_BACKOFF_MS = 50;
const PUBLISH_MAX_BACKOFF_MS = 1_000;

/** Resolves after `ms`, or as soon as `signal` aborts (the caller then sees the abort). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function parseOptions(o: JetStreamEventBusOptions) {
  if (!o.source) throw new EventsOptionsError("options.source must name the publishing service");
  if (!o.connection === !o.servers) throw new EventsOptionsError("options.connection or options.servers must be set (one of them)");
  const prefix = o.prefix ?? "";
  checkPrefix(prefix);
  const parsed = {
    streamMaxAgeMs: o.streamMaxAgeMs ?? 7 * DAY_MS,
    streamMaxBytes: o.streamMaxBytes ?? 1024 ** 3,
    deadLetterMaxAgeMs: o.deadLetterMaxAgeMs ?? 14 * DAY_MS,
    duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
    replicas: o.replicas ?? 1,
    ackWaitMs: o.ackWaitMs ?? 30_000,
    maxHandlerMs: o.maxHandlerMs ?? 300_000,
    maxAckPending: o.maxAckPending ?? 1_000,
    pullExpiresMs: o.pullExpiresMs ?? 30_000,
    pullHeartbeatMs: o.pullHeartbeatMs ?? Math.max(500, Math.min(1_000, (o.pullExpiresMs ?? 30_000) / 2)),
    redeliveryDelayMs: o.redeliveryDelayMs ?? 1_000,
    maxRedeliveryDelayMs: o.maxRedeliveryDelayMs ?? 30_000,
    publishAttemptTimeoutMs: o.publishAttemptTimeoutMs ?? 2_000,
    publishTimeoutMs: o.publishTimeoutMs ?? 15_000,
  };
  for (const [field, value] of Object.entries(parsed)) {
    if (!Number.isFinite(value) || value <= 0) throw new EventsOptionsError(`options.${field} must be a positive number`);
  }
  if (parsed.pullExpiresMs < 1_000) throw new EventsOptionsError("options.pullExpiresMs must be at least 1000");
  if (parsed.pullHeartbeatMs < 500 || parsed.pullHeartbeatMs > parsed.pullExpiresMs / 2) {
    throw new EventsOptionsError("options.pullHeartbeatMs must be from 500 to half of options.pullExpiresMs");
  }
  return { ...parsed, prefix };
}

/**
 * Typed events on NATS JetStream. Each Protobuf package gets a stream (`shop.events.v1` ->
 * `SHOP_EVENTS`, subjects `events.shop.events.>`, limits retention: `streamMaxAgeMs` / `streamMaxBytes`,
 * oldest dropped first) and a dead-letter stream (`SHOP_EVENTS_DLQ`, subjects
 * `deadletter.<consumer>.<type>`). Publishing waits for the stream's ack and sets `Nats-Msg-Id` to the
 * event id; consumers are durable pull consumers named `<consumer>_<type>`, shared by a service's replicas.
 */
export async function createJetStreamEventBus(options: JetStreamEventBusOptions): Promise<EventBus> {
  const o = parseOptions(options);
  const source = options.source;
  const onDeadLetter = options.onDeadLetter ?? (() => {});
  const onError = options.onError ?? (() => {});
  const metrics = options.metrics;
  const publishCells = new Map<string, ValueCell>();
  const publishCell = (m: Metrics, type: string) => {
    let cell = publishCells.get(type);
    if (cell === undefined) publishCells.set(type, (cell = m.publisher(type).published));
    return cell;
  };
  let nc: NatsConnection;
  try {
    nc =
      options.connection ??
      (await connect({
        servers: options.servers,
        name: source,
        noAsyncTraces: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      }));
  } catch (err) {
    throw natsToConnectError(err, "connect to the event broker");
  }
  const ownsConnection = !options.connection;
  const js = jetstream(nc, { timeout: o.publishAttemptTimeoutMs });
  const publisher = createJetStreamPublisher(nc);
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: o.publishAttemptTimeoutMs });
  } catch (err) {
    if (ownsConnection) await nc.close();
    throw natsToConnectError(err, "open JetStream");
  }
  const namesByType = new Map<string, EventNames>();
  const streamsReady = new Map<string, Promise<void>>();
  const subscriptions = new Set<Subscription>();
  const isoNow = createIsoClock();
  let closed = false;

  function namesOf(schema: DescMessage): EventNames {
    let names = namesByType.get(schema.typeName);
    if (!names) namesByType.set(schema.typeName, (names = eventNames(schema, o.prefix)));
    return names;
  }

  /** Streams known to exist: a publish to one goes straight out, without awaiting its setup again. */
  const streamsUp = new Set<string>();

  function streamsFor(names: EventNames): Promise<void> {
    let ready = streamsReady.get(names.stream);
    if (!ready) {
      ready = ensureStreams(jsm, names, o);
      streamsReady.set(names.stream, ready);
      ready.then(() => streamsReady.get(names.stream) === ready && streamsUp.add(names.stream), () => streamsReady.delete(names.stream)); // try again next time
    }
    return ready;
  }

  /**
   * Publishes until acked, retrying transient failures (same id, so stored once) until publishTimeoutMs.
   * The first attempt runs without an async frame in between: most publishes take one.
   */
  function publishWithRetry(names: EventNames, payload: Uint8Array, headers: ReturnType<typeof envelopeHeaders>, signal: AbortSignal | undefined): Promise<void> {
    const deadline = performance.now() + o.publishTimeoutMs;
    if (signal?.aborted || !streamsUp.has(names.stream)) return publishAttempts(names, payload, headers, signal, deadline, 0);
    // `headers` carries Nats-Msg-Id (the id) already.
    return publisher.publish(names.subject, payload, headers, o.publishAttemptTimeoutMs).catch(
      (err: unknown) => backOff(err, names, signal, deadline, 0).then(() => publishAttempts(names, payload, headers, signal, deadline, 1)),
    );
  }

  async function publishAttempts(
    names: EventNames,
    payload: Uint8Array,
    headers: ReturnType<typeof envelopeHeaders>,
    signal: AbortSignal | undefined,
    deadline: number,
    first: number,
  ): Promise<void> {
    for (let attempt = first; ; attempt++) {
      if (signal?.aborted) throw abortError(signal);
      try {
        if (!streamsUp.has(names.stream)) await streamsFor(names);
        const remaining = Math.max(1, deadline - performance.now());
        await publisher.publish(names.subject, payload, headers, Math.min(o.publishAttemptTimeoutMs, remaining));
        return;
      } catch (err) {
        await backOff(err, names, signal, deadline, attempt);
      }
    }
  }

  /** After a failed attempt: rethrows unless it is transient and time is left, else waits the attempt's backoff. */
  async function backOff(err: unknown, names: EventNames, signal: AbortSignal | undefined, deadline: number, attempt: number): Promise<void> {
    if (!isTransientNatsError(err) || performance.now() >= deadline || closed) throw err;
    streamsReady.delete(names.stream); // "no responders" can mean the stream is gone
    streamsUp.delete(names.stream);
    const pause = Math.min(PUBLISH_MAX_BACKOFF_MS, PUBLISH_BACKOFF_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
    await sleep(Math.min(pause, Math.max(0, deadline - performance.now())), signal);
  }

  // Every stored publish, traced or not, counts in the metrics and the admin API's flows.
  const counted = (type: string, stream: string) => {
    if (metrics !== undefined) publishCell(metrics, type).value++;
    if (options.flows !== undefined) options.flows.counter("publish", stream, type).value++;
  };

  /** The traced publish, and any publish on a closed bus. */
  async function publishTraced<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>, publishOptions: PublishOptions): Promise<{ id: string }> {
    if (closed) throw new ConnectError("event bus is closed", Code.Unavailable);
    const tracer = options.tracer!;
    const names = namesOf(schema);
    const id = publishOptions.id ?? crypto.randomUUID();
    const payload = toBinary(schema, create(schema, init));
    // The envelope carries the PRODUCER span's context, so the consumer's span is its child.
    const span = startPublishSpan(tracer, { system: "nats", destination: names.subject, id, type: schema.typeName });
    const headers = context.with(trace.setSpan(context.active(), span), () => envelopeHeaders(id, schema.typeName, source, isoNow()));
    try {
      await publishWithRetry(names, payload, headers, publishOptions.signal);
    } catch (err) {
      const ce = natsToConnectError(err, `publish ${schema.typeName}`);
      span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(ce.rawMessage) });
      throw ce;
    } finally {
      span.end();
    }
    counted(schema.typeName, names.stream);
    return { id };
  }

  return {
    publish(schema, init, publishOptions: PublishOptions = {}) {
      if (closed || options.tracer !== undefined) return publishTraced(schema, init, publishOptions);
      try {
        const names = namesOf(schema);
        const id = publishOptions.id ?? crypto.randomUUID();
        const payload = toBinary(schema, create(schema, init));
        const headers = envelopeHeaders(id, schema.typeName, source, isoNow());
        return publishWithRetry(names, payload, headers, publishOptions.signal).then(
          () => {
            counted(schema.typeName, names.stream);
            return { id };
          },
          (err: unknown) => {
            throw natsToConnectError(err, `publish ${schema.typeName}`);
          },
        );
      } catch (err) {
        return Promise.reject(err);
      }
    },

    async subscribe(schema, consumerName, handler, subscribeOptions: SubscribeOptions = {}) {
      if (closed) throw new ConnectError("event bus is closed", Code.Unavailable);
      const { concurrency, maxDeliver } = parseSubscribeOptions(subscribeOptions, consumerName);
      const names = namesOf(schema);
      const durable = durableName(consumerName, names);
      let consumer;
      try {
        await streamsFor(names);
        await ensureConsumer(jsm, names, durable, maxDeliver, o);
        consumer = await js.consumers.get(names.stream, durable);
      } catch (err) {
        throw natsToConnectError(err, `subscribe to ${schema.typeName}`);
      }
      const inner = startSubscription({
        js,
        connection: nc,
        consumer,
        consumerName,
        schema,
        handler: handler as Parameters<typeof startSubscription>[0]["handler"],
        concurrency,
        maxDeliver,
        deadLetterSubject: deadLetterSubject(names, consumerName, o.prefix),
        ackWaitMs: o.ackWaitMs,
        maxHandlerMs: o.maxHandlerMs,
        pullExpiresMs: o.pullExpiresMs,
        pullHeartbeatMs: o.pullHeartbeatMs,
        redeliveryDelayMs: o.redeliveryDelayMs,
        maxRedeliveryDelayMs: o.maxRedeliveryDelayMs,
        publishTimeoutMs: o.publishAttemptTimeoutMs,
        onDeadLetter,
        onError,
        metrics: options.metrics?.consumer(schema.typeName, consumerName),
        consumed: options.flows?.counter("consume", names.stream, schema.typeName, consumerName),
        tracer: options.tracer,
        subject: names.subject,
      });
      const subscription: Subscription = {
        async drain() {
          await inner.drain();
          subscriptions.delete(subscription);
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async close() {
      if (closed) return;
      closed = true;
      publisher.close();
      await Promise.all([...subscriptions].map((s) => s.drain()));
      if (ownsConnection) {
        try {
          await nc.drain();
        } catch {
          await nc.close();
        }
      }
    },
  };
}
