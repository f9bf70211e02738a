import { fromBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { context, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import { SpanEventAttributes, SpanEvents, startProcessSpan } from "../telemetry/index.ts";
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import type { DeadLetter, EventHandler, Subscription } from "./event-bus.ts";
import { EnvelopeHeaders, extractTraceContext, readEnvelope } from "./envelope.ts";
import { failureReason } from "./subscribe-options.ts";
import type { ConsumerMetrics } from "../telemetry/index.ts";

/** What one subscription needs from its bus. */
export interface SubscriptionConfig {
  readonly js: JetStreamClient;
  /** The bus's connection: after each reconnect the subscription pulls afresh. Default: not watched. */
  readonly connection?: NatsConnection;
  readonly consumer: Consumer;
  /** The service-level consumer name (used in dead-letter subjects and headers). */
  readonly consumerName: string;
  readonly schema: DescMessage;
  readonly handler: EventHandler<DescMessage>;
  readonly concurrency: number;
  readonly maxDeliver: number;
  readonly deadLetterSubject: string;
  readonly ackWaitMs: number;
  readonly maxHandlerMs: number;
  readonly pullExpiresMs: number;
  /** Idle heartbeat of a waiting pull: two missed end it, so a pull lost with its consumer's leader is renewed. */
  readonly pullHeartbeatMs: number;
  readonly redeliveryDelayMs: number;
  readonly maxRedeliveryDelayMs: number;
  readonly publishTimeoutMs: number;
  readonly onDeadLetter: (letter: DeadLetter) => void;
  /** Reports a failure the subscription recovers from by itself (pull errors, failed acks). */
  readonly onError: (err: unknown) => void;
  /** This consumer's counters, when metrics are on. */
  readonly metrics?: ConsumerMetrics;
  /** Counts acknowledged deliveries for the admin API's event flows. Default none. */
  readonly consumed?: { value: number };
  /** Records a CONSUMER span per delivery, child of the publisher's span. Default none. */
  readonly tracer?: Tracer;
  /** The event subject (span name and destination attribute). */
  readonly subject?: string;
}

/** Pause after a failed pull before the next one (the broker may be restarting). */
const PULL_RETRY_DELAY_MS = 250;

/**
 * Pulls at most `concurrency` events at a time (a fetch asks only for free slots, so nothing waits in
 * a client buffer while its ack timer runs), runs the handler in the publisher's trace context, acks on
 * success, naks with exponential backoff on failure, and after `maxDeliver` failed deliveries publishes
 * the event to the dead-letter subject with the reason, then terminates it.
 */
export function startSubscription(cfg: SubscriptionConfig): Subscription {
  const inFlight = new Map<JsMsg, number>(); // message -> start time
  let freeSlot: (() => void) | undefined;
  let idle: (() => void) | undefined;
  let batch: ConsumerMessages | undefined;
  let stopping = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let wakeRetry: (() => void) | undefined;

  // Long handlers tell the server they are still working, so it does not redeliver them meanwhile;
  // past maxHandlerMs they stop, and the server hands the event to another delivery.
  const progressEveryMs = Math.max(100, Math.floor(cfg.ackWaitMs / 3));
  const progress = setInterval(() => {
    const now = performance.now();
    for (const [msg, started] of inFlight) {
      const running = now - started;
      if (running >= progressEveryMs && running < cfg.maxHandlerMs) msg.working();
    }
  }, progressEveryMs);
  progress.unref();

  async function handle(msg: JsMsg): Promise<void> {
    const deliveryCount = msg.info.deliveryCount;
    const metrics = cfg.metrics;
    if (metrics !== undefined) {
      if (deliveryCount > 1) metrics.redelivered.value++;
      metrics.lag.value = msg.info.pending;
    }
    const meta = readEnvelope(msg.headers, { type: cfg.schema.typeName, time: msg.time, deliveryCount });
    let traceContext = extractTraceContext(msg.headers);
    let span: Span | undefined;
    if (cfg.tracer !== undefined) {
      const destination = cfg.subject ?? cfg.schema.typeName;
      span = startProcessSpan(cfg.tracer, traceContext, { system: "nats", destination, id: meta.id, type: cfg.schema.typeName }, cfg.consumerName, deliveryCount);
      traceContext = trace.setSpan(traceContext, span);
    }
    try {
      if (deliveryCount > cfg.maxDeliver) {
        await deadLetter(msg, meta, "delivery did not complete (consumer stopped or timed out)", span);
        return;
      }
      let event;
      try {
        event = fromBinary(cfg.schema, msg.data);
      } catch (err) {
        await deadLetter(msg, meta, `undecodable ${cfg.schema.typeName}: ${failureReason(err)}`, span);
        return;
      }
      try {
        await context.with(traceContext, () => cfg.handler(event, meta));
      } catch (err) {
        span?.setStatus({ code: SpanStatusCode.ERROR, message: "the handler failed" });
        if (deliveryCount >= cfg.maxDeliver) await deadLetter(msg, meta, failureReason(err), span);
        else {
          const delayMs = redeliveryDelay(deliveryCount);
          span?.addEvent(SpanEvents.redeliver, { [SpanEventAttributes.delayMs]: delayMs });
          msg.nak(delayMs);
        }
        return;
      }
      msg.ack();
      if (metrics !== undefined) metrics.consumed.value++;
      if (cfg.consumed !== undefined) cfg.consumed.value++;
    } catch (err) {
      // Dead-lettering failed (broker trouble): let the server redeliver it later.
      cfg.onError(err);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: "dead-lettering failed" });
      msg.nak(cfg.maxRedeliveryDelayMs);
    } finally {
      span?.end();
    }
  }

  function redeliveryDelay(deliveryCount: number): number {
    const base = Math.min(cfg.maxRedeliveryDelayMs, cfg.redeliveryDelayMs * 2 ** (deliveryCount - 1));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  async function deadLetter(msg: JsMsg, meta: DeadLetter["meta"], reason: string, span: Span | undefined): Promise<void> {
    // The reason is the handler's error text: kept off the span (it may carry what the handler saw).
    span?.addEvent(SpanEvents.deadLetter, { [SpanEventAttributes.attempt]: msg.info.deliveryCount });
    span?.setStatus({ code: SpanStatusCode.ERROR, message: "dead-lettered" });
    const h = natsHeaders();
    for (const [key, values] of msg.headers ?? []) if (!key.startsWith("Nats-")) for (const v of values) h.append(key, v);
    h.set(EnvelopeHeaders.deadLetterReason, reason.slice(0, 1024));
    h.set(EnvelopeHeaders.deadLetterConsumer, cfg.consumerName);
    h.set(EnvelopeHeaders.deadLetterDeliveries, String(msg.info.deliveryCount));
    await cfg.js.publish(cfg.deadLetterSubject, msg.data, {
      headers: h,
      // One dead letter per event and consumer, even if this is retried.
      msgID: `${meta.id}:${cfg.consumerName}`,
      timeout: cfg.publishTimeoutMs,
    });
    msg.term(reason.slice(0, 256));
    if (cfg.metrics !== undefined) cfg.metrics.deadLettered.value++;
    cfg.onDeadLetter({ consumer: cfg.consumerName, meta, reason, payload: msg.data });
  }

  function start(msg: JsMsg): void {
    inFlight.set(msg, performance.now());
    handle(msg).finally(() => {
      inFlight.delete(msg);
      freeSlot?.();
      if (inFlight.size === 0) idle?.();
    });
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      if (inFlight.size >= cfg.concurrency) {
        await new Promise<void>((resolve) => (freeSlot = resolve));
        freeSlot = undefined;
        continue;
      }
      try {
        batch = await cfg.consumer.fetch({
          max_messages: cfg.concurrency - inFlight.size,
          expires: cfg.pullExpiresMs,
          // nats.js would take half of `expires` (15 s): a pull lost with its consumer's leader could wait 30 s.
          idle_heartbeat: cfg.pullHeartbeatMs,
        });
        for await (const msg of batch) {
          if (stopping) msg.nak(); // hand it straight to another replica
          else start(msg);
        }
      } catch (err) {
        if (stopping) break;
        cfg.onError(err);
        await new Promise<void>((resolve) => {
          wakeRetry = resolve;
          retryTimer = setTimeout(resolve, PULL_RETRY_DELAY_MS);
        });
      } finally {
        batch = undefined;
      }
    }
  }

  // A fetch outlives a reconnect badly: nats.js pauses its heartbeat check while disconnected and, once
  // reconnected, pulls again only after the consumer answers an info request, which waits out a leader
  // election and its own backoff (a stall of 30 s and more was seen after the consumer's leader died).
  // Ending the fetch on every reconnect makes the loop pull at once from the consumer's current leader.
  const statuses = cfg.connection?.status() as (AsyncIterable<{ type: string }> & { stop?: () => void }) | undefined;
  if (statuses !== undefined) {
    void (async () => {
      for await (const status of statuses) if (status.type === "reconnect") batch?.stop();
    })().catch(cfg.onError);
  }

  const running = loop();
  let drained: Promise<void> | undefined;

  return {
    drain() {
      drained ??= (async () => {
        stopping = true;
        statuses?.stop?.();
        freeSlot?.();
        clearTimeout(retryTimer);
        wakeRetry?.();
        await batch?.close();
        await running;
        if (inFlight.size > 0) await new Promise<void>((resolve) => (idle = resolve));
        clearInterval(progress);
      })();
      return drained;
    },
  };
}
