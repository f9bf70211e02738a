// A live tail of one JetStream stream for the admin API (weft events tail, the dashboard's events page):
// an ordered consumer that starts at the stream's last N messages or at new ones, headers only, so a
// message's payload never leaves JetStream (events may carry personal data).

import type { OrderedConsumerOptions } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { TailEventsRequest, TailEventsResponseSchema } from "../../gen/weft/mesh/v1/admin_pb.ts";

/** Most messages a tail may start with. */
export const MAX_TAIL_LAST = 1000;
/** The header JetStream puts on a headers-only delivery: the payload's size. */
const SIZE_HEADER = "Nats-Msg-Size";

type TailMessage = MessageInitShape<typeof TailEventsResponseSchema>;

/** Tails streams over `nc`; the returned function is AdminExtensions.tailEvents. */
export function createEventTail(nc: NatsConnection): (request: TailEventsRequest, signal: AbortSignal) => AsyncIterable<TailMessage> {
  return async function* tail(request, signal) {
    if (!/^[\w-]+$/.test(request.stream)) throw new ConnectError("stream must be a JetStream stream name", Code.InvalidArgument);
    if (request.last > MAX_TAIL_LAST) throw new ConnectError(`last must be at most ${MAX_TAIL_LAST}, got ${request.last}`, Code.InvalidArgument);
    if (/\s/.test(request.subjectFilter)) throw new ConnectError("subject_filter must be a NATS subject (no spaces)", Code.InvalidArgument);
    // Loaded on the first tail: a process whose operators never tail events never loads the JetStream client.
    const { DeliverPolicy, jetstream, jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(request.stream).catch(() => undefined);
    if (info === undefined) throw new ConnectError(`no stream ${request.stream}`, Code.NotFound);
    const options: Partial<OrderedConsumerOptions> = { headers_only: true, ...(request.subjectFilter === "" ? {} : { filter_subjects: request.subjectFilter }) };
    if (request.last > 0 && info.state.messages > 0) {
      options.deliver_policy = DeliverPolicy.StartSequence;
      options.opt_start_seq = Math.max(info.state.first_seq, info.state.last_seq - request.last + 1);
    } else {
      options.deliver_policy = DeliverPolicy.New;
    }
    const consumer = await jetstream(nc).consumers.get(request.stream, options);
    signal.throwIfAborted();
    const messages = await consumer.consume();
    const stop = () => void messages.close();
    signal.addEventListener("abort", stop, { once: true });
    try {
      let sent = 0;
      for await (const m of messages) {
        const headers: Record<string, string> = {};
        for (const key of m.headers?.keys() ?? []) if (key !== SIZE_HEADER) headers[key] = m.headers!.get(key);
        yield { stream: request.stream, seq: BigInt(m.seq), subject: m.subject, timeUnixMs: BigInt(Math.floor(m.info.timestampNanos / 1e6)), bytes: Number(m.headers?.get(SIZE_HEADER) ?? 0), headers };
        if (request.maxMessages > 0 && ++sent >= request.maxMessages) break;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      await messages.close();
    }
  };
}
