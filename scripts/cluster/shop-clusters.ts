// The clusters `npm run start:distributed -- --cluster` runs the shop on, one starter per kind: each
// starts its cluster on loopback and returns the environment that points every service at all of it:
// NATS (3 nodes), Redis with Sentinel, a PostgreSQL primary with a synchronous standby.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsCluster } from "./nats-cluster.ts";
import { startPostgresReplica } from "./postgres-replica.ts";
import { startRedisSentinel } from "./redis-sentinel.ts";

/** A cluster started for one run. */
export interface StartedCluster {
  /** Its kind, e.g. "nats". */
  readonly kind: string;
  /** Variables for every service process (NATS_URL, ...). */
  readonly env: Readonly<Record<string, string>>;
  /** One line for the launcher's banner. */
  readonly summary: string;
  /** Stops it and removes its files. */
  stop(): Promise<void>;
  /** Kills it at once, for an exit that cannot wait. */
  kill(): void;
}

/** What the launcher hands every starter. */
export interface ClusterContext {
  /** The nats-server `authorization` block of the policies' users (secure Connect over NATS). Default none. */
  readonly natsAuthorization?: string;
}

/** One kind of cluster: how to start it in `dir`. */
export interface ClusterKind {
  readonly kind: string;
  start(dir: string, context: ClusterContext): Promise<StartedCluster>;
}

/** Replicas of the event streams on the 3-node NATS cluster: losing any one node keeps a quorum. */
const NATS_NODES = 3;

/** Three nats-servers with routes and JetStream; services get all three URLs and 3-replica streams. */
export const natsClusterKind: ClusterKind = {
  kind: "nats",
  async start(dir, context) {
    // Own process groups: a terminal's Ctrl-C must reach the services (which drain) before the broker.
    const cluster = await startNatsCluster({ dir, nodes: NATS_NODES, detached: true, extraConfig: context.natsAuthorization });
    return {
      kind: "nats",
      env: { NATS_URL: cluster.url, MESH_EVENTS_REPLICAS: String(NATS_NODES) },
      summary: `NATS cluster of ${NATS_NODES} (${cluster.servers.map((s) => `${s.name} ${s.url}`).join(", ")}; streams with ${NATS_NODES} replicas${context.natsAuthorization ? "; users and permissions from the policies" : ""})`,
      stop: () => cluster.stop(),
      kill: () => cluster.kill(),
    };
  },
};

/** A primary, two replicas and three sentinels; services follow the primary through REDIS_URL=redis-sentinel://. */
export const redisSentinelKind: ClusterKind = {
  kind: "redis",
  async start() {
    const redis = await startRedisSentinel();
    return {
      kind: "redis",
      env: { REDIS_URL: redis.url },
      summary: `Redis with Sentinel: primary and ${redis.dataPorts.length - 1} replicas on ports ${redis.dataPorts.join(", ")}, sentinels on ${redis.sentinels.map((s) => s.port).join(", ")} (REDIS_URL ${redis.url})`,
      stop: () => redis.stop(),
      kill: () => void redis.stop().catch(() => undefined),
    };
  },
};

/**
 * A primary and a synchronous standby; the orders pool follows whichever of DATABASE_URL's hosts accepts
 * writes. Nothing promotes the standby by itself: `pg_ctl promote` stands in for the operator (or a PostgreSQL operator in Kubernetes).
 */
export const postgresReplicaKind: ClusterKind = {
  kind: "postgres",
  async start() {
    const pg = await startPostgresReplica();
    return {
      kind: "postgres",
      env: { DATABASE_URL: pg.url },
      summary: `PostgreSQL primary on port ${pg.primaryPort} with a synchronous standby on ${pg.standbyPort} (DATABASE_URL ${pg.url})`,
      stop: () => pg.stop(),
      kill: () => void pg.stop().catch(() => undefined),
    };
  },
};

/** Every kind `--cluster` starts, in order. */
export const CLUSTER_KINDS: readonly ClusterKind[] = [natsClusterKind, redisSentinelKind, postgresReplicaKind];

/** The clusters of one run, started together under one temporary folder. */
export interface ShopClusters {
  readonly clusters: readonly StartedCluster[];
  /** Every cluster's variables merged. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
  kill(): void;
}

/** Starts every kind in `kinds` (default CLUSTER_KINDS); on a failure stops those already started and rethrows. */
export async function startShopClusters(context: ClusterContext = {}, kinds: readonly ClusterKind[] = CLUSTER_KINDS): Promise<ShopClusters> {
  const root = await mkdtemp(join(tmpdir(), "weft-clusters-"));
  const clusters: StartedCluster[] = [];
  try {
    for (const k of kinds) clusters.push(await k.start(join(root, k.kind), context));
  } catch (err) {
    await Promise.all(clusters.map((c) => c.stop().catch(() => undefined)));
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  return {
    clusters,
    env: Object.assign({}, ...clusters.map((c) => c.env)),
    async stop() {
      await Promise.all(clusters.map((c) => c.stop().catch(() => undefined)));
      await rm(root, { recursive: true, force: true });
    },
    kill() {
      for (const c of clusters) c.kill();
    },
  };
}
