// A scatter-gather on core NATS whose replies come to a subject under the mesh's discovery prefix, not
// to the connection's inbox: with per-workload NATS users (a broker configured from the policies) an
// instance may publish under the prefix but only into its callers' inboxes.

import { randomUUID } from "node:crypto";
import type { Msg, NatsConnection } from "@nats-io/transport-node";

/** Options of {@link collectReplies}. */
export interface CollectRepliesOptions {
  /** Where replies go: `<replyPrefix>.<random>` (e.g. "weft.registry.reply"). Required. */
  readonly replyPrefix: string;
  /** How long to take replies in, in milliseconds. Required. */
  readonly maxWaitMs: number;
  /** Ends the wait early. */
  readonly signal?: AbortSignal;
}

/** Publishes `data` to `subject` and returns every reply that arrives within `maxWaitMs`. */
export async function collectReplies(nc: NatsConnection, subject: string, data: Uint8Array, options: CollectRepliesOptions): Promise<Msg[]> {
  const reply = `${options.replyPrefix}.${randomUUID().replaceAll("-", "")}`;
  const replies: Msg[] = [];
  // Subscribed before the request is sent: the server sees both in this order.
  const sub = nc.subscribe(reply, {
    callback: (err, msg) => {
      if (err === null && msg.data.length > 0) replies.push(msg);
    },
  });
  try {
    nc.publish(subject, data, { reply });
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, options.maxWaitMs);
      options.signal?.addEventListener("abort", done, { once: true });
    });
  } finally {
    sub.unsubscribe();
  }
  return replies;
}
