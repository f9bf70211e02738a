// JetStream publishes that await their PubAck on one reply subscription per bus. nats.js's js.publish
// goes through nc.request, whose RequestOne builds a RequestError("cancelled") with a stack trace after
// every successful reply and arms a timer per request: 30% of a publishing process's CPU in a profile
// (bench/backends/events.ts). Here a reply is a Map lookup, and one sweep times out every late ack.
import { ClosedConnectionError, createInbox, NoRespondersError, TimeoutError } from "@nats-io/transport-node";
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";

/** Publishes a message to a stream's subject and resolves once the stream stored it (its PubAck). */
export interface JetStreamPublisher {
  /**
   * Rejects with the error nats.js's js.publish would give: TimeoutError, NoRespondersError (no stream
   * or JetStream listens), JetStreamApiError (the stream refused it), ClosedConnectionError.
   */
  publish(subject: string, payload: Uint8Array, headers: MsgHdrs, timeoutMs: number): Promise<void>;
  /** Stops taking publishes; the reply subscription ends once the publishes in flight have settled. */
  close(): void;
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
}

/** How often late acks are looked for: a publish times out between its deadline and this much later. */
export const ACK_SWEEP_MS = 25;

const decoder = new TextDecoder();

/** A publisher on `nc`: one `_INBOX` wildcard subscription for the acks of every publish. */
export function createJetStreamPublisher(nc: NatsConnection): JetStreamPublisher {
  // The connection's inbox prefix (a user's permissions may allow replies only there), as nats.js's own requests use.
  const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
  const inbox = `${createInbox(inboxPrefix)}.`;
  const pending = new Map<string, Pending>();
  let next = 0;
  let closing = false;
  let sweep: NodeJS.Timeout | undefined;

  const settle = (token: string): Pending | undefined => {
    const entry = pending.get(token);
    if (entry === undefined) return undefined;
    pending.delete(token);
    if (pending.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
      if (closing) sub.unsubscribe();
    }
    return entry;
  };

  const sub: Subscription = nc.subscribe(`${inbox}*`, {
    callback: (err, msg) => {
      if (err !== null) return failAll(err);
      const entry = settle(msg.subject.slice(inbox.length));
      if (entry === undefined) return; // timed out already
      const failure = ackFailure(msg);
      if (failure === undefined) entry.resolve();
      else entry.reject(failure);
    },
  });
  const failAll = (err: Error) => {
    for (const token of [...pending.keys()]) settle(token)?.reject(err);
  };
  // A closed connection answers nothing more: fail what waits now instead of at each deadline.
  void nc.closed().then(() => failAll(new ClosedConnectionError()));

  const sweepLate = () => {
    const now = performance.now();
    for (const [token, entry] of pending) if (entry.deadline <= now) settle(token)?.reject(new TimeoutError());
  };

  return {
    publish(subject, payload, headers, timeoutMs) {
      if (closing) return Promise.reject(new ClosedConnectionError());
      const token = (next++).toString(36);
      return new Promise<void>((resolve, reject) => {
        pending.set(token, { resolve, reject, deadline: performance.now() + timeoutMs });
        if (sweep === undefined) {
          sweep = setInterval(sweepLate, ACK_SWEEP_MS);
          sweep.unref();
        }
        try {
          nc.publish(subject, payload, { reply: inbox + token, headers });
        } catch (err) {
          settle(token);
          reject(err as Error);
        }
      });
    },
    close() {
      closing = true;
      if (pending.size === 0) sub.unsubscribe();
    },
  };
}

/** What is wrong with an ack, as the error js.publish would throw; undefined for a stored message. */
function ackFailure(msg: Msg): Error | undefined {
  // The server answers a request nobody listens to with a 503 status and no body.
  if (msg.headers?.code === 503) return new NoRespondersError(msg.subject);
  let ack: { stream?: string; error?: { code: number; err_code: number; description: string } };
  try {
    ack = JSON.parse(decoder.decode(msg.data)) as typeof ack;
  } catch {
    return new JetStreamError("invalid ack response");
  }
  if (ack.error !== undefined) return new JetStreamApiError(ack.error);
  return typeof ack.stream === "string" && ack.stream !== "" ? undefined : new JetStreamError("invalid ack response");
}
