// Issue 12, redaction: a sign-up / sign-in / checkout flow with a known password and the tokens it is
// given, through the real shop (HTTP, every hook, the JetStream event bus, tracing to an in-memory
// exporter, the JSON logger), then a sweep of everything the run produced (log lines, finished spans,
// every JetStream message on the run's subjects, every error the caller received) for those secrets:
// none may appear. A planted leak (a log field and a span attribute) shows the sweep finds one.

import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createJetStreamEventBus } from "../../mesh/events/index.ts";
import { createJsonLogger } from "../../mesh/host/index.ts";
import { createWeftConnectTransport } from "../../mesh/transport/index.ts";
import { startTestShop, uniqueEmail } from "../shop/shop-fixture.ts";
import { natsUrl } from "../support/servers.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Where each secret appears in the collected material: "<corpus> #<index>: <secret name>". */
function sweep(corpora: Record<string, readonly string[]>, secrets: Record<string, string>): string[] {
  const hits: string[] = [];
  for (const [corpus, items] of Object.entries(corpora)) {
    items.forEach((item, i) => {
      for (const [name, secret] of Object.entries(secrets)) if (secret.length >= 8 && item.includes(secret)) hits.push(`${corpus} #${i}: ${name}`);
    });
  }
  return hits;
}

describe("no secret in logs, spans, events or error messages", () => {
  it("a sign-up, sign-in and checkout flow leaves no password or token anywhere; a planted one is found", async () => {
    // Tracing into memory, with the same global context and propagator a traced process sets up.
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    cleanups.push(() => { trace.disable(); propagation.disable(); context.disable(); return provider.shutdown(); });
    const tracer = provider.getTracer("sweep");

    const logLines: string[] = [];
    const logger = createJsonLogger("sweep", { level: "info", write: (line) => logLines.push(line) });

    // JetStream events under a prefix of this run, every message on it captured raw (headers and body).
    const prefix = `sweep${randomUUID().slice(0, 8)}`;
    const nc: NatsConnection = await connect({ servers: natsUrl(), noAsyncTraces: true });
    const eventMessages: string[] = [];
    const sub = nc.subscribe(`${prefix}.>`, { callback: (_err, msg) => void eventMessages.push(`${msg.subject} ${msg.headers?.toString() ?? ""} ${Buffer.from(msg.data).toString("latin1")}`) });
    cleanups.push(async () => {
      sub.unsubscribe();
      const jsm = await jetstreamManager(nc);
      for await (const s of jsm.streams.list()) if (s.config.name.startsWith(prefix.toUpperCase())) await jsm.streams.delete(s.config.name).catch(() => {});
      await nc.close();
    });
    const events = await createJetStreamEventBus({ connection: nc, source: "shop", prefix, tracer });

    const shop = await startTestShop({ logger, tracer, events, rateLimits: true });
    cleanups.push(() => shop.close());
    const gateway = createClient(GatewayService, createWeftConnectTransport({ baseUrl: shop.url }));

    const password = `Sweep-${randomUUID()}`;
    const wrongPassword = `Wrong-${randomUUID()}`;
    const email = uniqueEmail("sweep");
    const errors: string[] = [];
    const failed = async (call: Promise<unknown>, code: Code) => {
      const err = await call.then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code, err?.rawMessage).toBe(code);
      const metadata: string[] = [];
      err!.metadata.forEach((v, k) => metadata.push(`${k}: ${v}`));
      errors.push(`${err!.rawMessage} | ${err!.message} | ${metadata.join("; ")} | ${JSON.stringify(err!.details, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v))}`);
    };

    const signUp = await gateway.signUp({ email, password, displayName: "Sweep" });
    const signIn = await gateway.signIn({ email, password });
    const bearer = `Bearer ${signIn.accessToken}`;
    await failed(gateway.signIn({ email, password: wrongPassword }), Code.Unauthenticated);
    await failed(gateway.signUp({ email, password, displayName: "Again" }), Code.AlreadyExists);
    const browse = await gateway.browse({ pageSize: 20 });
    const product = browse.products.find((p) => p.available > 0)!.product!;
    await gateway.checkout({ items: [{ productId: product.id, quantity: 1 }] }, { headers: { authorization: bearer } });
    await gateway.listMyOrders({}, { headers: { authorization: bearer } });
    await failed(gateway.listMyOrders({}, { headers: { authorization: `${bearer}x` } }), Code.Unauthenticated);
    await failed(gateway.listMyOrders({}, { headers: { authorization: `Bearer ${signUp.accessToken.split(".").slice(0, 2).join(".")}.${"A".repeat(43)}` } }), Code.Unauthenticated);
    // A request the server cannot decode, carrying the password: the answer must not echo it.
    const raw = await fetch(`${shop.url}/${GatewayService.typeName}/SignIn`, { method: "POST", headers: { "content-type": "application/json", authorization: bearer }, body: JSON.stringify({ email: 12, password }) });
    errors.push(`${raw.status} ${await raw.text()}`);
    // The order placed event reaches JetStream (the run's subjects), so the sweep covers a real event.
    for (let i = 0; i < 100 && !eventMessages.some((m) => m.includes("OrderPlaced")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(eventMessages.some((m) => m.includes("OrderPlaced"))).toBe(true);
    await provider.forceFlush();

    const spans = () => exporter.getFinishedSpans().map((s) => JSON.stringify({ name: s.name, attributes: s.attributes, status: s.status, events: s.events, links: s.links, resource: s.resource.attributes }));
    const secrets: Record<string, string> = {
      password,
      wrongPassword,
      signUpToken: signUp.accessToken,
      signInToken: signIn.accessToken,
      signUpSignature: signUp.accessToken.split(".").at(-1)!,
      signInSignature: signIn.accessToken.split(".").at(-1)!,
    };
    expect(spans().length).toBeGreaterThan(10);
    expect(logLines.length).toBeGreaterThan(0);
    const corpora = () => ({ logs: logLines, spans: spans(), events: eventMessages, errors });
    const hits = sweep(corpora(), secrets);
    console.log(`redaction sweep: ${logLines.length} log lines, ${spans().length} spans, ${eventMessages.length} JetStream messages, ${errors.length} error answers; ${hits.length} secrets found`);
    expect(hits).toEqual([]);

    // The sweep can fail: a leak planted in a log field and a span attribute is found, and only it.
    logger.info("planted leak", { note: `user typed ${password}` });
    tracer.startSpan("planted").setAttribute("note", signIn.accessToken.split(".").at(-1)!).end();
    await provider.forceFlush();
    const planted = sweep(corpora(), secrets);
    // (Tokens issued in the same second for the same user may be equal: count places, not names.)
    expect(new Set(planted.map((h) => h.slice(0, h.indexOf(":"))))).toEqual(new Set([`logs #${logLines.length - 1}`, `spans #${spans().length - 1}`]));
  });
});
