// Event streams and their consumers as the admin API reports them, read from JetStream: pending,
// ack-pending, redelivered, dead letters (counted per consumer in the domain's `<STREAM>_DLQ` stream)
// and lag in messages and in seconds (the age of the oldest message not yet acknowledged).

import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConsumerStatsSchema, GetEventStreamsResponseSchema } from "../../gen/weft/mesh/v1/admin_pb.ts";

/** Streams reported at most per answer. */
const MAX_STREAMS = 100;

type Answer = MessageInitShape<typeof GetEventStreamsResponseSchema>;
type Consumer = MessageInitShape<typeof ConsumerStatsSchema>;

/** Reads streams and consumers over `nc`; the returned function is AdminExtensions.eventStreams. */
export function createEventStreamsReader(nc: NatsConnection): (namePrefix: string, signal: AbortSignal) => Promise<Answer> {
  let jsm: JetStreamManager | undefined;
  return async (namePrefix, signal) => {
    // Loaded on the first question: a process without event streams need not load the JetStream client.
    jsm ??= await (await import("@nats-io/jetstream")).jetstreamManager(nc);
    // The first MAX_STREAMS by name of every match, kept in at most twice that much memory.
    let infos: StreamInfo[] = [];
    let truncated = false;
    // Every name, so that a stream's dead letters count even when its `_DLQ` stream fell past the cut.
    const names = new Set<string>();
    const firstByName = () => {
      infos.sort((a, b) => a.config.name.localeCompare(b.config.name));
      if (infos.length > MAX_STREAMS) [infos, truncated] = [infos.slice(0, MAX_STREAMS), true];
    };
    for await (const info of jsm.streams.list()) {
      names.add(info.config.name);
      if (info.config.name.startsWith(namePrefix)) infos.push(info);
      if (infos.length >= 2 * MAX_STREAMS) firstByName();
    }
    firstByName();
    signal.throwIfAborted();
    const streams = [];
    for (const info of infos) {
      const deadLetters = names.has(`${info.config.name}_DLQ`) ? await deadLetterCounts(jsm, `${info.config.name}_DLQ`) : new Map<string, number>();
      const consumers: Consumer[] = [];
      for await (const c of jsm.consumers.list(info.config.name)) {
        const lagMessages = c.num_pending + c.num_ack_pending;
        let lagSeconds = 0;
        if (lagMessages > 0) {
          const oldest = await jsm.streams.getMessage(info.config.name, { seq: c.ack_floor.stream_seq + 1 }).catch(() => null);
          if (oldest !== null) lagSeconds = Math.max(0, (Date.now() - oldest.time.getTime()) / 1000);
        }
        consumers.push({ name: c.name, pending: BigInt(c.num_pending), ackPending: BigInt(c.num_ack_pending), redelivered: BigInt(c.num_redelivered), deadLettered: BigInt(deadLetters.get(c.name) ?? 0), lagMessages: BigInt(lagMessages), lagSeconds });
      }
      const state = info.state;
      streams.push({ name: info.config.name, subjects: info.config.subjects ?? [], messages: BigInt(state.messages), bytes: BigInt(state.bytes), firstSeq: BigInt(state.first_seq), lastSeq: BigInt(state.last_seq), consumers });
    }
    return { available: true, streams, truncated };
  };
}

/** Dead letters per durable consumer name: `[prefix.]deadletter.<consumer>.<type>` belongs to `<consumer>_<type with _>`. */
async function deadLetterCounts(jsm: JetStreamManager, dlq: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const info = await jsm.streams.info(dlq, { subjects_filter: ">" }).catch(() => undefined);
  for (const [subject, n] of Object.entries(info?.state.subjects ?? {})) {
    const parts = subject.split(".");
    const at = parts.indexOf("deadletter");
    if (at < 0 || parts.length < at + 3) continue;
    const durable = `${parts[at + 1]}_${parts.slice(at + 2).join("_")}`;
    counts.set(durable, (counts.get(durable) ?? 0) + n);
  }
  return counts;
}
