// Redis with failover on loopback: one primary, replicas and three sentinels, all `redis-server`
// processes on free ports, for `npm run start:distributed -- --cluster` and the failover tests. The shop
// reaches it through REDIS_URL=redis-sentinel://... (mesh/redis), so it follows every promotion.

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { onFreePort, spawnUntilReady, stopProcess } from "./loopback-process.ts";

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** Replicas of the primary, 1 or 2. Default 2. */
  readonly replicas?: number;
  /** The name the sentinels monitor the primary under. Default "weft". */
  readonly masterName?: string;
  /** How long a primary must be unreachable before the sentinels call it down, in ms. Default 1,000. */
  readonly downAfterMs?: number;
  /** How long one failover attempt may take before another sentinel tries, in ms. Default 5,000. */
  readonly failoverTimeoutMs?: number;
}

/** A host and port. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** A running Sentinel group: connection settings and the helpers a failover drill needs. */
export interface RedisSentinelCluster {
  /** `REDIS_URL` for the mesh: `redis-sentinel://127.0.0.1:<s1>,127.0.0.1:<s2>,127.0.0.1:<s3>/<name>`. */
  readonly url: string;
  /** The monitored name. */
  readonly masterName: string;
  /** The three sentinels. */
  readonly sentinels: readonly RedisAddress[];
  /** Every data node's port (primary first at start). */
  readonly dataPorts: readonly number[];
  /** The current primary as the sentinels report it. */
  primary(): Promise<RedisAddress>;
  /** SIGKILL of the current primary (a crash); resolves with its port once it has exited. */
  killPrimary(): Promise<number>;
  /** Resolves with the new primary once the sentinels report one other than `oldPort` (rejects after `timeoutMs`, default 15,000). */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<RedisAddress>;
  /** Kills every process and removes the data directories. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const SENTINELS = 3;
/** Sentinels learn of each other and of the replicas through hello messages every 2 s: the wait for a ready group. */
const GROUP_READY_TIMEOUT_MS = 20_000;
const POLL_MS = 50;

/** Starts the primary, its replicas (synced) and three sentinels that see them all and each other. */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelCluster> {
  const replicas = options.replicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 2) throw new RangeError("options.replicas must be 1 or 2");
  const masterName = options.masterName ?? "weft";
  if (!/^[A-Za-z0-9_-]+$/.test(masterName)) throw new RangeError("options.masterName must be letters, digits, _ and -");
  const downAfterMs = options.downAfterMs ?? 1_000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 5_000;
  const dir = mkdtempSync(join(tmpdir(), "weft-sentinel-"));
  const data = new Map<number, ChildProcess>();
  const sentinelProcesses: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all([...sentinelProcesses, ...data.values()].map((child) => stopProcess(child)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // No sync delay: a replica is a copy within milliseconds of starting, not after Redis's default 5 s.
    const dataNode = (extra: string[], ready: RegExp) => (port: number) =>
      spawnUntilReady("redis-server", ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir, "--dbfilename", `dump-${port}.rdb`, "--repl-diskless-sync-delay", "0", ...extra], ready).then(failOnBindError);
    const primary = await onFreePort(dataNode([], /Ready to accept connections|Address already in use/));
    data.set(primary.port, primary.started);
    for (let i = 0; i < replicas; i++) {
      const replica = await onFreePort(dataNode(["--replicaof", HOST, String(primary.port)], /MASTER <-> REPLICA sync: Finished with success|Address already in use/));
      data.set(replica.port, replica.started);
    }
    const sentinels: RedisAddress[] = [];
    for (let i = 0; i < SENTINELS; i++) {
      const started = await onFreePort((port) => {
        const conf = join(dir, `sentinel-${port}.conf`);
        // Sentinel rewrites its own file (it records what it learns), so each gets one it may write.
        writeFileSync(conf, [
          `port ${port}`, `bind ${HOST}`, `dir ${dir}`, "protected-mode no",
          `sentinel monitor ${masterName} ${HOST} ${primary.port} 2`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${masterName} 1`, "",
        ].join("\n"));
        return spawnUntilReady("redis-server", [conf, "--sentinel"], /\+monitor master|Address already in use/).then(failOnBindError);
      });
      sentinelProcesses.push(started.started);
      sentinels.push({ host: HOST, port: started.port });
    }
    await waitForGroup(sentinels, masterName, replicas);
    const primaryOf = () => askSentinels(sentinels, masterName);
    return {
      url: `redis-sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(",")}/${masterName}`,
      masterName,
      sentinels,
      dataPorts: [...data.keys()],
      primary: primaryOf,
      async killPrimary() {
        const { port } = await primaryOf();
        await stopProcess(data.get(port), "SIGKILL");
        return port;
      },
      async waitForFailover(oldPort, timeoutMs = 15_000) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const now = await primaryOf().catch(() => undefined);
          if (now !== undefined && now.port !== oldPort) return now;
          if (Date.now() > until) throw new Error(`the sentinels did not promote a replica within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function failOnBindError({ child }: { child: ChildProcess }): ChildProcess {
  // The ready pattern also matches a bind failure, so that onFreePort tries another port at once.
  if (child.exitCode !== null) throw new Error("Address already in use");
  return child;
}

/** One sentinel command on the first sentinel that answers. */
async function sentinelCommand(sentinels: readonly RedisAddress[], args: string[]): Promise<unknown> {
  let last: unknown;
  for (const { host, port } of sentinels) {
    const client = new Redis({ host, port, lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
    client.on("error", () => {}); // a dead sentinel is why the next one is asked
    try {
      await client.connect();
      return await client.call("SENTINEL", ...args);
    } catch (err) {
      last = err;
    } finally {
      client.disconnect();
    }
  }
  throw last;
}

async function askSentinels(sentinels: readonly RedisAddress[], masterName: string): Promise<RedisAddress> {
  const reply = (await sentinelCommand(sentinels, ["get-master-addr-by-name", masterName])) as [string, string] | null;
  if (reply === null) throw new Error(`no sentinel monitors ${masterName}`);
  return { host: reply[0], port: Number(reply[1]) };
}

/** Waits until every sentinel sees the replicas (synced) and the two other sentinels: only then can they fail over. */
async function waitForGroup(sentinels: readonly RedisAddress[], masterName: string, replicas: number): Promise<void> {
  const until = Date.now() + GROUP_READY_TIMEOUT_MS;
  for (;;) {
    const views = await Promise.all(sentinels.map((s) => sentinelCommand([s], ["master", masterName]).then(fields, () => undefined)));
    if (views.every((v) => v !== undefined && Number(v["num-other-sentinels"]) === SENTINELS - 1 && Number(v["num-slaves"]) === replicas)) return;
    if (Date.now() > until) throw new Error(`the sentinels did not see ${replicas} replica(s) and each other within ${GROUP_READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function fields(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}
