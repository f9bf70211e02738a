// `npm run start:distributed -- --cluster`: the launcher starts a 3-node NATS cluster, Redis with
// Sentinel and a PostgreSQL primary with a standby, points the services at all of them (the
// recommendations consumer creates the order stream with 3 replicas and keeps its model in Redis through
// the sentinels), and stops every cluster with the shop on Ctrl-C.

import { spawn, type ChildProcess } from "node:child_process";
import { connect as tcpConnect } from "node:net";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { until } from "./fixtures/processes.ts";

const LAUNCHER = new URL("../../scripts/start-distributed.ts", import.meta.url).pathname;
const ONLY_RECOMMENDATIONS = "catalog=0,gateway=0,identity=0,inventory=0,orders=0,recommendations=1";

let nc: NatsConnection | undefined;
let launcher: ChildProcess | undefined;

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  if (launcher === undefined || launcher.exitCode !== null || launcher.signalCode !== null) return;
  // A test that failed midway: SIGTERM lets the launcher stop its cluster (whose nodes run in process
  // groups of their own, out of reach of a SIGKILL to the launcher's group); SIGKILL if it hangs.
  const exited = new Promise((resolve) => launcher!.once("exit", resolve));
  launcher.kill("SIGTERM");
  const timer = setTimeout(() => process.kill(-launcher!.pid!, "SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
});

/** Starts the launcher in its own process group; collects its output lines. */
function launch(args: string[]) {
  const proc = spawn(process.execPath, [LAUNCHER, ...args], {
    env: { ...process.env, NATS_URL: "nats://127.0.0.1:1" }, // ignored under --cluster
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  launcher = proc;
  const lines: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n")));
  const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
  return { proc, lines, exited };
}

/** The client URLs of the cluster's banner line, once printed. */
async function clusterUrls(lines: readonly string[]): Promise<string[]> {
  await until(() => lines.some((l) => l.startsWith("NATS cluster of 3 ")), 30_000, "the cluster's banner line");
  return [...lines.find((l) => l.startsWith("NATS cluster of 3 "))!.matchAll(/nats:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The ports of the Redis and PostgreSQL clusters, from their banner lines. */
function dataPorts(lines: readonly string[]): number[] {
  const redis = lines.find((l) => l.startsWith("Redis with Sentinel: "));
  const postgres = lines.find((l) => l.startsWith("PostgreSQL primary on port "));
  expect(redis, lines.join("\n")).toBeDefined();
  expect(postgres, lines.join("\n")).toBeDefined();
  // Every data node and sentinel of Redis, then the PostgreSQL primary and standby.
  const redisPorts = [...redis!.replace(/\(REDIS_URL.*$/, "").matchAll(/\b(\d{4,5})\b/g)].map((m) => Number(m[1]));
  const postgresPorts = [...postgres!.replace(/\(DATABASE_URL.*$/, "").matchAll(/\b(\d{4,5})\b/g)].map((m) => Number(m[1]));
  expect(redisPorts).toHaveLength(6);
  expect(postgresPorts).toHaveLength(2);
  return [...redisPorts, ...postgresPorts];
}

describe("launcher --cluster", () => {
  it("runs the services on a 3-node NATS cluster with 3-replica streams and stops it on Ctrl-C", async () => {
    const { proc, lines, exited } = launch(["--cluster", "--insecure", "--instances", ONLY_RECOMMENDATIONS]);

    const urls = await clusterUrls(lines);
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
    // Recommendations keeps its model in Redis: listening means it reached the primary through the sentinels.
    await until(() => lines.some((l) => l.includes('"recommendations listening"')), 45_000, "recommendations up");
    const ports = dataPorts(lines);
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => true));

    process.kill(proc.pid!, "SIGINT");
    const code = await exited;
    expect(code, lines.join("\n")).toBe(0);
    expect(lines).toContainEqual(expect.stringMatching(/^all 1 processes drained/));
    // The cluster went with the shop: no node answers any more.
    const probe = await connect({ servers: urls, timeout: 1000, maxReconnectAttempts: 0, noAsyncTraces: true }).then((c) => c.close().then(() => "up"), () => "down");
    expect(probe).toBe("down");
    expect(await Promise.all(ports.map(listening))).toEqual(ports.map(() => false));
  });

  it("with --transport nats, every node carries the policies' users: services connect as theirs, anonymous clients are refused", async () => {
    const { proc, lines, exited } = launch(["--cluster", "--transport", "nats", "--instances", ONLY_RECOMMENDATIONS]);
    const urls = await clusterUrls(lines);
    expect(lines.find((l) => l.startsWith("NATS cluster of 3 "))).toContain("users and permissions from the policies");
    await until(() => lines.some((l) => l.includes('"recommendations listening"')), 45_000, "recommendations up (its NATS user created its stream)");
    for (const url of urls) {
      const anonymous = await connect({ servers: url, timeout: 2000, maxReconnectAttempts: 0, noAsyncTraces: true }).then((c) => c.close().then(() => "connected"), (e: Error) => e.message);
      expect(anonymous, url).toMatch(/authorization/i);
    }
    process.kill(proc.pid!, "SIGINT");
    const code = await exited;
    expect(code, lines.join("\n")).toBe(0);
  });
});
