// A client's live endpoint table fed by NATS. It follows only the services it is told about (at
// creation or later through `interest()`, which the mesh client calls for every service it calls), each
// on its own subjects: a snapshot from that service's live instances, then full records when they
// change, compact heartbeats (liveness and load) and leaves; silent instances expire. Without a service
// list it follows the whole mesh through wildcard subscriptions (dashboards, the CLI, tests).
//
// Bounds: an instance that leaves is gone as soon as its Leave arrives (milliseconds). An instance that
// dies without a word (kill -9) is dropped at most `expiryMs + sweepIntervalMs` after its last heartbeat
// (defaults: 3000 + 250 ms). A new instance appears when its first Announcement arrives (at its start)
// or, if that was missed, one heartbeat later (its unknown id triggers a fetch of its record). While
// NATS is disconnected the table is frozen (nothing expires), and after a reconnect every entry gets a
// fresh expiry window and new snapshots are taken. A leave leaves a tombstone for 60 s so that a late
// heartbeat or record cannot resurrect the instance; an expired one whose heartbeats resume (they were
// late, not over) comes back from its kept record without a query.

import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Msg, NatsConnection, Status, Subscription } from "@nats-io/transport-node";
import type { Announcement, Heartbeat } from "../../gen/weft/mesh/v1/registry_pb.ts";
import { AnnouncementSchema, HeartbeatSchema, LeaveSchema, TableQuerySchema } from "../../gen/weft/mesh/v1/registry_pb.ts";
import type { Endpoint, EndpointLoad, EndpointSource, InterestOptions } from "./endpoint.ts";
import { EndpointTable } from "./endpoint-table.ts";
import { assertSubject, DEFAULT_SUBJECT_PREFIX, registrySubjects, type ServiceSubjects } from "./subjects.ts";
import { assertInt, assertObject, WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_DISCOVERY_OPTIONS";

/** Milliseconds unknown instances are gathered before their records are asked for in one query. */
const FETCH_BATCH_MS = 20;
/** Longest wait for the records asked for: a loaded instance answers late, and a lost answer costs a retry. */
const FETCH_WAIT_MS = 2000;

/** Options of {@link createNatsDiscovery}. */
export interface NatsDiscoveryOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** Discovery subject prefix; must match the announcers'. Default "weft.registry". */
  readonly subjectPrefix?: string;
  /**
   * Services to follow from the start; `interest()` adds more later (a mesh client adds the services it
   * calls, so `[]` follows exactly those). Default: every service of the mesh (wildcard subscriptions:
   * heartbeat traffic then grows with the whole mesh, which only mesh-wide watchers should pay).
   */
  readonly services?: readonly string[];
  /** Longest wait for a snapshot's first reply, in milliseconds. Default 500. */
  readonly snapshotTimeoutMs?: number;
  /** A snapshot ends when no reply came for this long after the last one, in milliseconds. Default 50. */
  readonly snapshotStallMs?: number;
  /** How often expired instances are swept, in milliseconds. Default 250. */
  readonly sweepIntervalMs?: number;
  /** Expiry used when an announcement carries none, in milliseconds. Default 3000. */
  readonly defaultExpiryMs?: number;
}

interface Liveness {
  sequence: bigint;
  /** The sequence of the record held; a heartbeat naming a newer one makes us fetch it. */
  revision: bigint;
  seenAt: number;
  expiryMs: number;
}

/** The NATS endpoint source plus its connection state (for tests and dashboards). */
export interface NatsDiscovery extends EndpointSource {
  /** False while the NATS connection is down (the table is then frozen). */
  readonly connected: boolean;
  /** The services followed, or "all" when following the whole mesh. */
  followed(): readonly string[] | "all";
  interest(service: string, options?: InterestOptions): Promise<void>;
}

/** Creates a NATS-fed endpoint table and starts following announcements at once. */
export function createNatsDiscovery(options: NatsDiscoveryOptions): NatsDiscovery {
  const o = resolveOptions(options);
  const registry = registrySubjects(o.subjectPrefix);
  const nc = o.nc;
  const table = new EndpointTable();
  const live = new Map<string, Liveness>();
  // Sequence numbers of instances that left, so a late heartbeat cannot resurrect them; kept 60 s.
  const tombstones = new Map<string, { sequence: bigint; at: number }>();
  const TOMBSTONE_TTL_MS = 60_000;
  // Instances whose record is being fetched (one request each at a time).
  const fetching = new Set<string>();
  // Records of instances that expired, kept as long as tombstones: if heartbeats resume (they were late,
  // not over) the record is restored without asking for it again.
  const expired = new Map<string, { endpoint: Endpoint; liveness: Liveness; at: number }>();
  const all = o.services === undefined;
  const followed = new Map<string, { subs: Subscription[]; ready: Promise<void> }>();
  const wildcardSubs: Subscription[] = [];
  let connected = !nc.isClosed();
  let closed = false;

  function onAnnouncement(a: Announcement): void {
    if (closed || a.instanceId === "") return;
    const tomb = tombstones.get(a.instanceId);
    if (tomb !== undefined) {
      if (a.sequence <= tomb.sequence) return;
      tombstones.delete(a.instanceId);
    }
    const known = live.get(a.instanceId);
    if (known !== undefined && a.sequence < known.sequence) return; // a late duplicate
    if (known !== undefined && a.sequence === known.sequence) {
      known.seenAt = Date.now(); // the same record again, on another of its services' subjects
      return;
    }
    expired.delete(a.instanceId);
    live.set(a.instanceId, { sequence: a.sequence, revision: a.sequence, seenAt: Date.now(), expiryMs: a.expiryMs || o.defaultExpiryMs });
    table.upsert(toEndpoint(a));
  }

  function onHeartbeat(h: Heartbeat, service: string): void {
    if (closed || h.instanceId === "") return;
    const tomb = tombstones.get(h.instanceId);
    if (tomb !== undefined && h.sequence <= tomb.sequence) return;
    let known = live.get(h.instanceId);
    const gone = known === undefined ? expired.get(h.instanceId) : undefined;
    if (gone !== undefined && gone.liveness.revision >= h.revision && h.sequence > gone.liveness.sequence) {
      expired.delete(h.instanceId);
      live.set(h.instanceId, (known = gone.liveness));
      table.upsert(gone.endpoint);
    }
    if (known === undefined || known.revision < h.revision) {
      fetchRecord(h.instanceId, service); // a record we missed (started before us, or lost)
      return;
    }
    if (h.sequence <= known.sequence) return; // a late or repeated heartbeat
    known.sequence = h.sequence;
    known.seenAt = Date.now();
    const endpoint = table.get(h.instanceId);
    if (endpoint === undefined || h.load === undefined) return;
    const load = toLoad(h.load);
    if (sameLoad(endpoint.load, load)) return;
    table.upsert({ ...endpoint, load });
  }

  function onLeave(data: Uint8Array): void {
    const leave = fromBinary(LeaveSchema, data);
    const known = live.get(leave.instanceId);
    if (known !== undefined && leave.sequence < known.sequence) return;
    tombstones.set(leave.instanceId, { sequence: leave.sequence, at: Date.now() });
    expired.delete(leave.instanceId);
    live.delete(leave.instanceId);
    table.remove(leave.instanceId, "leave");
  }

  // Records missed (heartbeats of unknown instances), asked for together per service: after a start
  // under load many snapshots may come back short, and one query per instance would flood the service.
  const missing = new Map<string, Set<string>>();
  let missingTimer: NodeJS.Timeout | undefined;
  function fetchRecord(instanceId: string, service: string): void {
    if (fetching.has(instanceId) || nc.isClosed()) return;
    fetching.add(instanceId);
    let ids = missing.get(service);
    if (ids === undefined) missing.set(service, (ids = new Set()));
    ids.add(instanceId);
    missingTimer ??= setTimeout(fetchMissing, FETCH_BATCH_MS);
  }
  function fetchMissing(): void {
    missingTimer = undefined;
    for (const [service, ids] of missing) {
      const query = toBinary(TableQuerySchema, create(TableQuerySchema, { services: [service], instanceIds: [...ids] }));
      void collect(registry.service(service).query, query, ids.size).finally(() => {
        for (const id of ids) fetching.delete(id); // the next heartbeat asks again for any still missing
      });
    }
    missing.clear();
  }

  // Subscribes to announce, beat and leave subjects (one service's, or the wildcards).
  function subscribeTo(subjects: ServiceSubjects): Subscription[] {
    const beatRoot = `${o.subjectPrefix}.beat.`;
    const guarded = (handle: (msg: Msg) => void) => (err: Error | null, msg: Msg) => {
      if (err !== null) return;
      try {
        handle(msg);
      } catch {
        // A malformed message from a foreign publisher: ignore it.
      }
    };
    return [
      nc.subscribe(subjects.announce, { callback: guarded((msg) => onAnnouncement(fromBinary(AnnouncementSchema, msg.data))) }),
      nc.subscribe(subjects.beat, { callback: guarded((msg) => onHeartbeat(fromBinary(HeartbeatSchema, msg.data), msg.subject.slice(beatRoot.length))) }),
      nc.subscribe(subjects.leave, { callback: guarded((msg) => onLeave(msg.data)) }),
    ];
  }

  function snapshot(subject: string, services: readonly string[]): Promise<void> {
    return collect(subject, toBinary(TableQuerySchema, create(TableQuerySchema, { services: [...services] })), Infinity);
  }

  // Replies come to a subject under the discovery prefix, not to the connection's inbox: with
  // per-workload NATS users an instance may publish under the prefix but only into its callers' inboxes.
  const replyRoot = `${o.subjectPrefix}.reply.${randomUUID().replaceAll("-", "")}`;
  const collectors = new Map<number, (msg: Msg) => void>();
  let queries = 0;
  const replySub = nc.subscribe(`${replyRoot}.*`, {
    callback: (err, msg) => {
      if (err === null) collectors.get(Number(msg.subject.slice(replyRoot.length + 1)))?.(msg);
    },
  });

  // Sends a table query and takes in the records that answer it: up to `expected` of them, or (when the
  // count is unknown) until replies stall; "no responders" ends it at once.
  function collect(subject: string, query: Uint8Array, expected: number): Promise<void> {
    if (nc.isClosed() || closed) return Promise.resolve();
    const n = ++queries;
    const counted = Number.isFinite(expected);
    return new Promise((resolve) => {
      let got = 0;
      let stall: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(total);
        clearTimeout(stall);
        collectors.delete(n);
        resolve();
      };
      // A known count waits longer: a loaded instance is slow, not absent.
      const total = setTimeout(finish, counted ? Math.max(o.snapshotTimeoutMs, FETCH_WAIT_MS) : o.snapshotTimeoutMs);
      collectors.set(n, (msg) => {
        if (msg.data.length === 0) {
          if (got === 0) finish(); // a status: no instance listens
          return;
        }
        got++;
        try {
          onAnnouncement(fromBinary(AnnouncementSchema, msg.data));
        } catch {
          // ignore a malformed reply
        }
        if (got >= expected) finish();
        else if (!counted) {
          clearTimeout(stall);
          stall = setTimeout(finish, o.snapshotStallMs);
        }
      });
      try {
        nc.publish(subject, query, { reply: `${replyRoot}.${n}` });
      } catch {
        finish(); // NATS closed: announcements and heartbeats will fill the table
      }
    });
  }

  function follow(service: string): Promise<void> {
    let f = followed.get(service);
    if (f === undefined) {
      const subjects = registry.service(service);
      f = { subs: subscribeTo(subjects), ready: snapshot(subjects.query, [service]) };
      followed.set(service, f);
    }
    return f.ready;
  }

  function snapshotAll(): Promise<void> {
    if (all) return snapshot(registry.queryAll, []);
    return Promise.all([...followed.keys()].map((service) => snapshot(registry.service(service).query, [service]))).then(() => undefined);
  }

  let lastSweepAt = Date.now();
  function sweep(): void {
    const now = Date.now();
    // If this process itself stalled (a blocked event loop delays the sweep and the heartbeats alike),
    // the silence is ours, not the instances': extend their windows by the stall.
    const stall = now - lastSweepAt - o.sweepIntervalMs;
    lastSweepAt = now;
    if (stall > o.sweepIntervalMs) for (const l of live.values()) l.seenAt += stall;
    for (const [id, tomb] of tombstones) if (now - tomb.at > TOMBSTONE_TTL_MS) tombstones.delete(id);
    for (const [id, gone] of expired) if (now - gone.at > TOMBSTONE_TTL_MS) expired.delete(id);
    if (!connected) return; // frozen while NATS is away: the instances are probably fine
    for (const [id, l] of live) {
      if (now - l.seenAt > l.expiryMs) {
        live.delete(id);
        const endpoint = table.get(id);
        if (endpoint !== undefined) expired.set(id, { endpoint, liveness: l, at: now });
        table.remove(id, "expired");
      }
    }
  }
  const sweeper = setInterval(sweep, o.sweepIntervalMs);
  sweeper.unref();

  const statusIter = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statusIter) {
      if (closed) break;
      if (s.type === "disconnect") connected = false;
      else if (s.type === "reconnect") {
        connected = true;
        const now = Date.now();
        for (const l of live.values()) l.seenAt = now;
        void snapshotAll();
      }
    }
  })().catch(() => undefined);

  let initial: Promise<void>;
  if (all) {
    wildcardSubs.push(...subscribeTo(registry.all));
    initial = snapshotAll();
  } else {
    initial = Promise.all(o.services!.map(follow)).then(() => undefined);
  }

  return {
    get connected() {
      return connected;
    },
    followed: () => (all ? "all" : [...followed.keys()]),
    endpoints: (service) => table.endpoints(service),
    subscribe: (listener) => table.subscribe(listener),
    ready: () => initial,
    interest(service, interestOptions) {
      if (closed) return Promise.resolve();
      if (all) return bounded(initial, interestOptions);
      assertSubject(service, "service");
      return bounded(follow(service), interestOptions);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      clearTimeout(missingTimer);
      statusIter.stop?.();
      replySub.unsubscribe();
      for (const sub of wildcardSubs) sub.unsubscribe();
      for (const f of followed.values()) for (const sub of f.subs) sub.unsubscribe();
      for (const id of [...live.keys()]) table.remove(id, "closed");
      live.clear();
      expired.clear();
    },
  };
}

/** Resolves when `pending` settles, `timeoutMs` passes or `signal` aborts, whichever comes first. */
function bounded(pending: Promise<void>, options: InterestOptions | undefined): Promise<void> {
  const timeoutMs = options?.timeoutMs;
  const signal = options?.signal;
  if (timeoutMs === undefined && signal === undefined) return pending;
  if (signal?.aborted || (timeoutMs !== undefined && timeoutMs <= 0)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
    signal?.addEventListener("abort", done, { once: true });
    pending.then(done, done);
  });
}

function toLoad(load: Announcement["load"]): EndpointLoad {
  return {
    inFlight: load?.inFlight ?? 0,
    eventLoopDelayMs: (load?.eventLoopDelayUs ?? 0) / 1000,
    workerQueueDepth: load?.workerQueueDepth ?? 0,
    concurrencyLimit: load?.concurrencyLimit ?? 0,
  };
}

function sameLoad(a: EndpointLoad, b: EndpointLoad): boolean {
  return a.inFlight === b.inFlight && a.eventLoopDelayMs === b.eventLoopDelayMs
    && a.workerQueueDepth === b.workerQueueDepth && a.concurrencyLimit === b.concurrencyLimit;
}

function toEndpoint(a: Announcement): Endpoint {
  return {
    instanceId: a.instanceId,
    services: a.services,
    address: a.address,
    natsSubject: a.natsSubject,
    version: a.version,
    ready: a.ready,
    load: toLoad(a.load),
    natsConnection: a.natsConnection,
  };
}

function resolveOptions(options: NatsDiscoveryOptions): Required<Omit<NatsDiscoveryOptions, "services">> & { services: readonly string[] | undefined } {
  assertObject(OPTIONS, options, "options");
  if (options.nc === undefined) throw new WeftOptionsError(OPTIONS, "options.nc must be a NATS connection");
  const subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  assertSubject(subjectPrefix, "options.subjectPrefix");
  const services = options.services;
  if (services !== undefined) {
    if (!Array.isArray(services)) throw new WeftOptionsError(OPTIONS, "options.services must be an array of service names");
    services.forEach((s, i) => assertSubject(s, `options.services[${i}]`));
  }
  const r = {
    nc: options.nc,
    subjectPrefix,
    services,
    snapshotTimeoutMs: options.snapshotTimeoutMs ?? 500,
    snapshotStallMs: options.snapshotStallMs ?? 50,
    sweepIntervalMs: options.sweepIntervalMs ?? 250,
    defaultExpiryMs: options.defaultExpiryMs ?? 3000,
  };
  assertInt(OPTIONS, r.snapshotTimeoutMs, "options.snapshotTimeoutMs", 1);
  assertInt(OPTIONS, r.snapshotStallMs, "options.snapshotStallMs", 1);
  assertInt(OPTIONS, r.sweepIntervalMs, "options.sweepIntervalMs", 10);
  assertInt(OPTIONS, r.defaultExpiryMs, "options.defaultExpiryMs", 1);
  return r;
}
