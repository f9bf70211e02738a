// `npm run start:distributed -- --cluster`: the launcher starts a 3-node NATS cluster, points the
// services at all three servers (the recommendations consumer creates the order stream with 3
// replicas), and stops the cluster with the shop on Ctrl-C.

import { spawn } from "node:child_process";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { until } from "./fixtures/processes.ts";

const LAUNCHER = new URL("../../scripts/start-distributed.ts", import.meta.url).pathname;
const ONLY_RECOMMENDATIONS = "catalog=0,gateway=0,identity=0,inventory=0,orders=0,recommendations=1";

let nc: NatsConnection | undefined;
let group: number | undefined;

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  if (group !== undefined) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

describe("launcher --cluster", () => {
  it("runs the services on a 3-node NATS cluster with 3-replica streams and stops it on Ctrl-C", async () => {
    const proc = spawn(process.execPath, [LAUNCHER, "--cluster", "--insecure", "--instances", ONLY_RECOMMENDATIONS], {
      env: { ...process.env, NATS_URL: "nats://127.0.0.1:1" }, // ignored under --cluster
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    group = proc.pid;
    const lines: string[] = [];
    for (const stream of [proc.stdout!, proc.stderr!]) stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n")));
    const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));

    await until(() => lines.some((l) => l.startsWith("NATS cluster of 3 ")), 30_000, "the cluster's banner line");
    const banner = lines.find((l) => l.startsWith("NATS cluster of 3 "))!;
    const urls = [...banner.matchAll(/nats:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
    expect(urls).toHaveLength(3);
    nc = await connect({ servers: urls, noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    let replicas = 0;
    const deadline = Date.now() + 45_000;
    while (replicas === 0 && Date.now() < deadline) {
      replicas = await jsm.streams.info("SHOP_EVENTS").then((i) => i.config.num_replicas, () => 0);
      if (replicas === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(replicas, "SHOP_EVENTS replicas").toBe(3);
    await nc.close();
    nc = undefined;
    await until(() => lines.some((l) => l.includes('"recommendations listening"')), 45_000, "recommendations up");

    process.kill(proc.pid!, "SIGINT");
    const code = await exited;
    expect(code, lines.join("\n")).toBe(0);
    group = undefined;
    expect(lines).toContainEqual(expect.stringMatching(/^all 1 processes drained/));
    // The cluster went with the shop: no node answers any more.
    const probe = await connect({ servers: urls, timeout: 1000, maxReconnectAttempts: 0, noAsyncTraces: true }).then((c) => c.close().then(() => "up"), () => "down");
    expect(probe).toBe("down");
  });
});
