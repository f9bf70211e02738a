import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { ConsumerConfig, JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { EventNames } from "./event-names.ts";

/** Retention of the domain streams and their dead-letter streams. */
export interface RetentionSettings {
  readonly streamMaxAgeMs: number;
  readonly streamMaxBytes: number;
  readonly deadLetterMaxAgeMs: number;
  readonly duplicateWindowMs: number;
  readonly replicas: number;
}

/** Consumer settings shared by every subscription of one bus. */
export interface ConsumerSettings {
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

// JetStream API codes: "stream name already in use", "consumer already exists" (races between replicas).
const STREAM_NAME_IN_USE = 10058;
const NOT_FOUND = 404;

/**
 * Deliveries the server may make beyond the bus's own max-deliver count. The bus dead-letters any
 * delivery past `maxDeliver` without running the handler, so the spares only serve an event whose last
 * attempt never finished (a crashed consumer) or whose dead-letter publish failed.
 */
export const SPARE_DELIVERIES = 3;

/**
 * Creates (once per process) the domain stream and its dead-letter stream if they do not exist.
 * Existing streams are left as they are: changing retention is an operator's decision.
 */
export async function ensureStreams(jsm: JetStreamManager, names: EventNames, r: RetentionSettings): Promise<void> {
  await ensureStream(jsm, {
    name: names.stream,
    subjects: [names.streamSubject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(r.streamMaxAgeMs),
    max_bytes: r.streamMaxBytes,
    duplicate_window: nanos(r.duplicateWindowMs),
    num_replicas: r.replicas,
  });
  await ensureStream(jsm, {
    name: names.deadLetterStream,
    subjects: [names.deadLetterStreamSubject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(r.deadLetterMaxAgeMs),
    max_bytes: r.streamMaxBytes,
    duplicate_window: nanos(r.duplicateWindowMs),
    num_replicas: r.replicas,
  });
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager["streams"]["add"]>[0],
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== NOT_FOUND) throw err;
  }
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NAME_IN_USE) throw err;
  }
}

/**
 * Creates or updates the durable pull consumer `durable` on the type's subject: explicit ack, new
 * durables start at the beginning of what the stream retains.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  names: EventNames,
  durable: string,
  maxDeliver: number,
  s: ConsumerSettings,
): Promise<void> {
  const updatable = {
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: maxDeliver + SPARE_DELIVERIES,
    max_ack_pending: s.maxAckPending,
  };
  const config: Partial<ConsumerConfig> = {
    ...updatable,
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: names.subject,
  };
  try {
    const info = await jsm.consumers.info(names.stream, durable);
    const c = info.config;
    if (c.ack_wait !== updatable.ack_wait || c.max_deliver !== updatable.max_deliver || c.max_ack_pending !== s.maxAckPending) {
      await jsm.consumers.update(names.stream, durable, updatable);
    }
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== NOT_FOUND) throw err;
  }
  try {
    await jsm.consumers.add(names.stream, config);
  } catch (err) {
    // Another replica created it first with other settings: align them.
    if (!(err instanceof JetStreamApiError)) throw err;
    await jsm.consumers.update(names.stream, durable, updatable);
  }
}
