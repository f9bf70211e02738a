import { JetStreamApiError, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { ClosedConnectionError, connect, headers, NoRespondersError, TimeoutError } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runId } from "../../test/backends/servers.ts";
import { natsUrl } from "../../test/support/servers.ts";
import { ACK_SWEEP_MS, createJetStreamPublisher } from "./jetstream-publisher.ts";
import { isTransientNatsError, natsToConnectError } from "./nats-errors.ts";
import { Code } from "@connectrpc/connect";

describe("createJetStreamPublisher (shared NATS)", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  /** A fresh stream on its own subject. */
  async function stream(config: { max_msg_size?: number } = {}): Promise<{ name: string; subject: string }> {
    const name = runId().replace(/[^A-Za-z0-9_-]/g, "_");
    const subject = `pubtest.${name}`;
    await jsm.streams.add({ name, subjects: [subject], ...config });
    streams.push(name);
    return { name, subject };
  }
  const withId = (id: string) => {
    const h = headers();
    h.set("Nats-Msg-Id", id);
    return h;
  };

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const name of streams) await jsm.streams.delete(name).catch(() => {});
    await nc.close();
  });

  it("resolves once the stream stored each message, 2,000 in flight, each stored once by its id", async () => {
    const { name, subject } = await stream();
    const publisher = createJetStreamPublisher(nc);
    const body = new TextEncoder().encode("order");
    await Promise.all(Array.from({ length: 2000 }, (_, i) => publisher.publish(subject, body, withId(`m-${i}`), 5_000)));
    // The same ids again: acked (duplicates), not stored twice.
    await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.publish(subject, body, withId(`m-${i}`), 5_000)));
    expect((await jsm.streams.info(name)).state.messages).toBe(2000);
    publisher.close();
  });

  it("fails at once with a transient NoRespondersError when no stream listens on the subject", async () => {
    const publisher = createJetStreamPublisher(nc);
    const started = performance.now();
    const err = await publisher.publish(`pubtest.${runId()}.nobody`, new Uint8Array(1), withId("x"), 5_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRespondersError);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(isTransientNatsError(err)).toBe(true);
    expect(natsToConnectError(err, "publish").code).toBe(Code.Unavailable);
    publisher.close();
  });

  it("times out a publish whose ack never comes, not before its deadline", async () => {
    // A plain subscriber takes the message and never answers, as a broker that lost it would.
    const subject = `pubtest.${runId()}.silent`;
    const silent = nc.subscribe(subject);
    await nc.flush();
    const publisher = createJetStreamPublisher(nc);
    const started = performance.now();
    const err = await publisher.publish(subject, new Uint8Array(1), withId("y"), 200).catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(isTransientNatsError(err)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(199);
    // One sweep after the deadline on an idle machine; the slack is for a loaded one.
    expect(waited).toBeLessThan(200 + ACK_SWEEP_MS + 2_500);
    silent.unsubscribe();
    publisher.close();
  });

  it("rejects with the stream's API error when the stream refuses the message", async () => {
    const { subject } = await stream({ max_msg_size: 16 });
    const publisher = createJetStreamPublisher(nc);
    const err = await publisher.publish(subject, new Uint8Array(1024), withId("big"), 5_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).code).toBe(10054); // message size exceeds maximum allowed
    expect(isTransientNatsError(err)).toBe(false);
    expect(natsToConnectError(err, "publish").code).toBe(Code.InvalidArgument);
    publisher.close();
  });

  it("fails publishes in flight when the connection closes, and refuses new ones after close()", async () => {
    const own = await connect({ servers: natsUrl(), noAsyncTraces: true });
    const subject = `pubtest.${runId()}.closing`;
    const silent = own.subscribe(subject);
    await own.flush();
    const publisher = createJetStreamPublisher(own);
    const inFlight = publisher.publish(subject, new Uint8Array(1), withId("z"), 30_000).catch((e: unknown) => e);
    await own.flush();
    silent.unsubscribe();
    await own.close();
    expect(await inFlight).toBeInstanceOf(ClosedConnectionError);

    const other = createJetStreamPublisher(nc);
    other.close();
    expect(await other.publish(subject, new Uint8Array(1), withId("w"), 1_000).catch((e: unknown) => e)).toBeInstanceOf(ClosedConnectionError);
  });
});
