// The dashboard against a distributed mesh (TestService instances on mesh/node, found through NATS
// discovery; `weft dash --nats`): both instances listed, the edge the load uses with a rising rate, the
// edge turning red when a failing instance joins and takes calls, and the events page showing a
// JetStream consumer's lag, and the live tail of a stream (new events appear, pause holds the table).
// Screenshots go to test-artifacts/dashboard/ (git-ignored).

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createWeftConnectTransport } from "../../mesh/transport/index.ts";
import { startInstance, stop, type TestInstance } from "../distributed/fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";
import { ARTIFACTS, edgeOf, openBrowser, type RunningDash, startDash, waitForDrawn } from "./dash-helpers.ts";

const prefix = `weft.d${randomUUID().slice(0, 8)}.registry`;
const stream = `WEFTDASH_${randomUUID().slice(0, 8).toUpperCase()}`;
const tailed = `WEFTTAIL_${randomUUID().slice(0, 8).toUpperCase()}`;
const eventsPrefix = `DD${randomUUID().slice(0, 8).replaceAll("-", "").toUpperCase()}`;
const env = { MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_HEARTBEAT_MS: "500", MESH_EVENTS_PREFIX: eventsPrefix };
const SERVICE = TestService.typeName;
const instances: TestInstance[] = [];
let nc: NatsConnection;
let dash: RunningDash;
let browser: Browser;
let page: Page;

/** `count` calls straight to one instance, one after another (failures are the point, not an error). */
async function load(instance: TestInstance, count: number): Promise<void> {
  const transport = createWeftConnectTransport({ baseUrl: `http://127.0.0.1:${instance.port}` });
  const client = createClient(TestService, transport);
  try {
    for (let i = 0; i < count; i++) await client.unaryCall({}).catch(() => undefined);
  } finally {
    transport.close();
  }
}

beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  // dash-a publishes an OrderPlaced per UnaryCall and reads them back: the topology's event edges.
  instances.push(await startInstance("dash-a", { ...env, EVENTS: "1" }));
  dash = await startDash(["--nats", natsUrl(), "--registry-prefix", prefix], {});
  ({ browser, page } = await openBrowser());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dash?.stop();
  await Promise.all(instances.map((i) => stop(i.proc)));
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => undefined);
  await jsm.streams.delete(tailed).catch(() => undefined);
  for (const name of [`${eventsPrefix}_SHOP_EVENTS`, `${eventsPrefix}_SHOP_EVENTS_DLQ`]) await jsm.streams.delete(name).catch(() => undefined);
  await nc.close();
});

describe("the dashboard (weft dash --nats) against a distributed mesh", () => {
  it("topology: the load's edge rises, then turns red when a failing instance joins and takes calls", async () => {
    await page.goto(dash.url);
    await waitForDrawn(page, (d) => d.nodes.includes(SERVICE), "the TestService node");
    await load(instances[0], 40);
    const busy = await waitForDrawn(page, (d) => (edgeOf(d, "(outside)", SERVICE)?.rate ?? 0) > 0, "the load's edge with a rate");
    expect(edgeOf(busy, "(outside)", SERVICE)!.breach).toBe(false);
    // The events the calls published: TestService -> its stream, and the stream -> TestService (its reader).
    const stream = `stream:${eventsPrefix}_SHOP_EVENTS`;
    const flowing = await waitForDrawn(page, (d) => (d.eventEdges ?? []).some((e) => e.id === `${SERVICE}->${stream}` && e.messages >= 40) && (d.eventEdges ?? []).some((e) => e.id === `${stream}->${SERVICE}`), "the event edges");
    expect(flowing.nodes).toContain(stream);

    // A second instance that fails every call (UNAVAILABLE) joins the mesh and is called.
    instances.push(await startInstance("dash-b-failing", { ...env, FAIL: "unavailable" }));
    await load(instances[1], 20);
    const red = await waitForDrawn(page, (d) => edgeOf(d, "(outside)", SERVICE)?.breach === true, "the edge in breach", 30_000);
    expect(edgeOf(red, "(outside)", SERVICE)!.success).toBeLessThan(0.99);
    await page.screenshot({ path: join(ARTIFACTS, "distributed-topology.png") });

    await page.click("nav button[data-page=instances]");
    await page.waitForSelector('#instances tr[data-instance="dash-b-failing"]', { timeout: 20_000 });
    await page.waitForSelector('#instances tr[data-instance="dash-a"]');
  }, 90_000);

  it("events: a JetStream consumer's pending messages and lag", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    await jsm.consumers.add(stream, { durable_name: "reader", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish(`${stream.toLowerCase()}.thing`, new TextEncoder().encode(`m${i}`));
    await page.goto(dash.url); // this test may run first (shuffled order)
    await page.click("nav button[data-page=events]");
    // The page lists streams every 5 s: wait for this test's row.
    const row = page.locator(`#streams tr[data-stream="${stream}"]`);
    await row.waitFor({ timeout: 20_000 });
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(0, 4)).toEqual([stream, "reader", "5", "5"]);
    expect(cells[7]).toBe("5");
    await page.screenshot({ path: join(ARTIFACTS, "events.png") });
  }, 60_000);

  it("events: the live tail shows a stream's matching events as they are published; pause holds the table", async () => {
    const jsm = await jetstreamManager(nc);
    const subject = tailed.toLowerCase();
    await jsm.streams.add({ name: tailed, subjects: [`${subject}.>`] });
    const js = jetstream(nc);
    const publish = (s: string) => js.publish(`${subject}.${s}`, new TextEncoder().encode("{}"));
    await publish("order.placed");
    await publish("other");
    await publish("order.paid");
    await page.goto(dash.url);
    await page.click("nav button[data-page=events]");
    // The stream choice follows the 5-second listing.
    await page.locator(`#tail-stream option[value="${tailed}"]`).waitFor({ state: "attached", timeout: 20_000 });
    await page.selectOption("#tail-stream", tailed);
    await page.fill("#tail-subject", `${subject}.order.>`);
    await page.fill("#tail-last", "10");
    await page.click("#tail-start");
    const rows = page.locator("#tail tbody tr");
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    // Newest first; the other subject is filtered out.
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.subject))).toEqual([`${subject}.order.paid`, `${subject}.order.placed`]);

    // Live: publish until a new event shows (the tail's consumer may start a moment after the click).
    for (let i = 0; i < 100 && (await rows.count()) < 3; i++) {
      await publish("order.shipped");
      await page.waitForTimeout(200);
    }
    expect(await rows.first().getAttribute("data-subject")).toBe(`${subject}.order.shipped`);
    await page.screenshot({ path: join(ARTIFACTS, "events-tail.png") });

    // Paused, the table holds still while the status counts what arrives; resuming shows it.
    await page.click("#tail-pause");
    const held = await rows.count();
    await publish("order.refunded");
    await expect.poll(() => page.locator("#tail-status").textContent(), { timeout: 10_000 }).toMatch(/paused · \d+ new/);
    expect(await rows.count()).toBe(held);
    await page.click("#tail-pause");
    await expect.poll(() => rows.first().getAttribute("data-subject"), { timeout: 10_000 }).toBe(`${subject}.order.refunded`);
  }, 90_000);
});
