// A NATS cluster on loopback, started by the project itself (no containers): `nodes` nats-server
// processes with routes to each other and JetStream on each (own server_name and store folder), so
// streams can have up to `nodes` replicas. The distributed launcher's --cluster starts one; the
// failover tests start their own and kill nodes of it. Production runs NATS from its official Helm
// chart instead (docs/scaling.md).

import type { ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { candidatePort, spawnUntilReady, stopProcess } from "./loopback-process.ts";

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Folder for the nodes' configuration files and JetStream stores (made if missing; removed by stop()). Required. */
  readonly dir: string;
  /** How many nats-server processes. Default 3 (the fewest that keeps a JetStream quorum after losing one). */
  readonly nodes?: number;
  /** The cluster's name (and the prefix of each server_name: `<name>-1`, ...). Default "weft". */
  readonly name?: string;
  /** Each node in its own process group, so a terminal's Ctrl-C leaves it to its owner. Default false. */
  readonly detached?: boolean;
  /** How long to wait for each node's start and for JetStream's meta leader, in milliseconds. Default 20000. */
  readonly startTimeoutMs?: number;
  /** More configuration every node carries, e.g. an `authorization` block of users. Default none. */
  readonly extraConfig?: string;
}

/** One node of a running cluster. */
export interface NatsClusterNode {
  /** Its server_name (what JetStream names as a stream's leader). */
  readonly name: string;
  /** Its client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its monitoring endpoint, `http://127.0.0.1:<port>` (/varz, /connz, /jsz, /healthz). */
  readonly monitorUrl: string;
  /** The running process's id, or undefined while it is down. */
  readonly pid: number | undefined;
  /** Sends `signal` (default SIGKILL: a crash, not a shutdown) and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again after kill(), on the same ports and store (it rejoins the cluster). */
  start(): Promise<void>;
}

/** A running cluster. */
export interface NatsCluster {
  /** Every node's client URL. */
  readonly urls: readonly string[];
  /** The URLs comma-separated, as NATS_URL takes them. */
  readonly url: string;
  readonly servers: readonly NatsClusterNode[];
  /** Stops every node (SIGTERM) and removes `dir`. */
  stop(): Promise<void>;
  /** Kills every node at once (SIGKILL), for an exit that cannot wait; `dir` is left behind. */
  kill(): void;
}

const READY = /Server is ready/;

/** A node's configuration file: client, route and monitoring ports on loopback, JetStream in its own folder. */
function nodeConfig(o: { name: string; cluster: string; port: number; clusterPort: number; monitorPort: number; store: string; routes: readonly number[]; extra: string }): string {
  return [
    `server_name: ${JSON.stringify(o.name)}`,
    `listen: "127.0.0.1:${o.port}"`,
    `http: "127.0.0.1:${o.monitorPort}"`,
    `jetstream { store_dir: ${JSON.stringify(o.store)} }`,
    "cluster {",
    `  name: ${JSON.stringify(o.cluster)}`,
    `  listen: "127.0.0.1:${o.clusterPort}"`,
    `  routes: [${o.routes.map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`)).join(", ")}]`,
    "}",
    o.extra,
  ].join("\n");
}

/** Distinct candidate ports (freePort may hand the same one out twice in a row). */
async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await candidatePort());
  return [...ports];
}

/** Resolves once every running node sees the same JetStream meta leader; throws after `timeoutMs`. */
async function untilMetaLeader(nodes: readonly { monitorUrl: string }[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaders = await Promise.all(nodes.map(async (n) => {
      try {
        const jsz = (await (await fetch(`${n.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) })).json()) as { meta_cluster?: { leader?: string } };
        return jsz.meta_cluster?.leader ?? "";
      } catch {
        return "";
      }
    }));
    if (leaders[0] !== "" && leaders.every((l) => l === leaders[0])) return;
    if (Date.now() > deadline) throw new Error(`the NATS cluster elected no JetStream meta leader within ${timeoutMs} ms (nodes report ${JSON.stringify(leaders)})`);
    await sleep(100);
  }
}

/** Starts the cluster; resolves once every node is ready and JetStream has a meta leader. */
export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`options.nodes must be an integer from 1 to 9, got ${String(options.nodes)}`);
  const cluster = options.name ?? "weft";
  if (!/^[A-Za-z0-9_-]+$/.test(cluster)) throw new Error(`options.name must be letters, digits, "_" and "-", got ${JSON.stringify(cluster)}`);
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  await mkdir(options.dir, { recursive: true });
  const ports = await distinctPorts(count * 3);
  const clusterPorts = ports.slice(count, 2 * count);
  const children: (ChildProcess | undefined)[] = new Array(count).fill(undefined);
  const servers: NatsClusterNode[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${cluster}-${i + 1}`;
    const configFile = join(options.dir, `${name}.conf`);
    const [port, clusterPort, monitorPort] = [ports[i], clusterPorts[i], ports[2 * count + i]];
    await writeFile(configFile, nodeConfig({ name, cluster, port, clusterPort, monitorPort, store: join(options.dir, name), routes: clusterPorts.filter((p) => p !== clusterPort), extra: options.extraConfig ?? "" }), { mode: 0o600 });
    const start = async () => {
      if (children[i] !== undefined && children[i]!.exitCode === null && children[i]!.signalCode === null) return;
      const { child } = await spawnUntilReady("nats-server", ["-c", configFile], READY, { timeoutMs, detached: options.detached, hint: "is nats-server installed? npm run services" });
      children[i] = child;
    };
    servers.push({
      name,
      url: `nats://127.0.0.1:${port}`,
      monitorUrl: `http://127.0.0.1:${monitorPort}`,
      get pid() {
        const child = children[i];
        return child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
      },
      kill: (signal = "SIGKILL") => stopProcess(children[i], signal),
      start,
    });
  }
  const killAll = () => {
    for (const child of children) if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  try {
    await Promise.all(servers.map((s) => s.start()));
    await untilMetaLeader(servers, timeoutMs);
  } catch (err) {
    killAll();
    await rm(options.dir, { recursive: true, force: true });
    throw err;
  }
  const urls = servers.map((s) => s.url);
  return {
    urls,
    url: urls.join(","),
    servers,
    async stop() {
      await Promise.all(children.map((c) => stopProcess(c, "SIGTERM")));
      await rm(options.dir, { recursive: true, force: true });
    },
    kill: killAll,
  };
}
