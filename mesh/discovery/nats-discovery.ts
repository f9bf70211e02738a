// A client's live endpoint table fed by NATS: a snapshot from the live instances at start, then
// announcements and leaves as they come; silent instances expire.
//
// Bounds: an instance that leaves is gone as soon as its Leave arrives (milliseconds). An instance that
// dies without a word (kill -9) is dropped at most `expiryMs + sweepIntervalMs` after its last heartbeat
// (defaults: 3000 + 250 ms). While NATS is disconnected the table is frozen (nothing expires), and after
// a reconnect every entry gets a fresh expiry window and a new snapshot is taken.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Msg, NatsConnection, Status, Subscription } from "@nats-io/transport-node";
import type { Announcement } from "../../gen/weft/mesh/v1/registry_pb.ts";
import { AnnouncementSchema, LeaveSchema, TableQuerySchema } from "../../gen/weft/mesh/v1/registry_pb.ts";
import type { Endpoint, EndpointSource } from "./endpoint.ts";
import { EndpointTable } from "./endpoint-table.ts";
import { assertSubject, DEFAULT_SUBJECT_PREFIX, registrySubjects } from "./subjects.ts";
import { assertInt, assertObject, WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_DISCOVERY_OPTIONS";

/** Options of {@link createNatsDiscovery}. */
export interface NatsDiscoveryOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** Discovery subject prefix; must match the announcers'. Default "weft.registry". */
  readonly subjectPrefix?: string;
  /** Only ask for instances serving these services in the start-up snapshot. Default: all. */
  readonly services?: readonly string[];
  /** Longest wait for the first snapshot reply, in milliseconds. Default 500. */
  readonly snapshotTimeoutMs?: number;
  /** The snapshot ends when no reply came for this long after the last one, in milliseconds. Default 50. */
  readonly snapshotStallMs?: number;
  /** How often expired instances are swept, in milliseconds. Default 250. */
  readonly sweepIntervalMs?: number;
  /** Expiry used when an announcement carries none, in milliseconds. Default 3000. */
  readonly defaultExpiryMs?: number;
}

interface Liveness {
  sequence: bigint;
  seenAt: number;
  expiryMs: number;
}

/** The NATS endpoint source plus its connection state (for tests and dashboards). */
export interface NatsDiscovery extends EndpointSource {
  /** False while the NATS connection is down (the table is then frozen). */
  readonly connected: boolean;
}

/** Creates a NATS-fed endpoint table and starts following announcements at once. */
export function createNatsDiscovery(options: NatsDiscoveryOptions): NatsDiscovery {
  const o = resolveOptions(options);
  const subjects = registrySubjects(o.subjectPrefix);
  const nc = o.nc;
  const table = new EndpointTable();
  const live = new Map<string, Liveness>();
  // Sequence numbers of instances that left, so a late heartbeat cannot resurrect them; kept 60 s.
  const tombstones = new Map<string, { sequence: bigint; at: number }>();
  const TOMBSTONE_TTL_MS = 60_000;
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
    live.set(a.instanceId, { sequence: a.sequence, seenAt: Date.now(), expiryMs: a.expiryMs || o.defaultExpiryMs });
    table.upsert(toEndpoint(a));
  }

  function handle(subject: string, msg: Msg): void {
    try {
      if (subject === subjects.announce) {
        onAnnouncement(fromBinary(AnnouncementSchema, msg.data));
      } else {
        const leave = fromBinary(LeaveSchema, msg.data);
        const known = live.get(leave.instanceId);
        if (known !== undefined && leave.sequence < known.sequence) return;
        tombstones.set(leave.instanceId, { sequence: leave.sequence, at: Date.now() });
        live.delete(leave.instanceId);
        table.remove(leave.instanceId, "leave");
      }
    } catch {
      // A malformed message from a foreign publisher: ignore it.
    }
  }

  const subs: Subscription[] = [subjects.announce, subjects.leave].map((subject) =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err === null) handle(subject, msg);
      },
    }),
  );

  async function snapshot(): Promise<void> {
    const query = toBinary(TableQuerySchema, create(TableQuerySchema, { services: [...o.services] }));
    try {
      const replies = await nc.requestMany(subjects.query, query, {
        strategy: "stall",
        stall: o.snapshotStallMs,
        maxWait: o.snapshotTimeoutMs,
      });
      for await (const msg of replies) {
        if (msg.data.length === 0) continue; // status messages
        try {
          onAnnouncement(fromBinary(AnnouncementSchema, msg.data));
        } catch {
          // ignore a malformed reply
        }
      }
    } catch {
      // No responders (no instance yet) or NATS away: heartbeats will fill the table.
    }
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
    if (!connected) return; // frozen while NATS is away: the instances are probably fine
    for (const [id, l] of live) {
      if (now - l.seenAt > l.expiryMs) {
        live.delete(id);
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
        void snapshot();
      }
    }
  })().catch(() => undefined);

  const initial = snapshot();

  return {
    get connected() {
      return connected;
    },
    endpoints: (service) => table.endpoints(service),
    subscribe: (listener) => table.subscribe(listener),
    ready: () => initial,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      statusIter.stop?.();
      for (const sub of subs) sub.unsubscribe();
      for (const id of [...live.keys()]) table.remove(id, "closed");
      live.clear();
    },
  };
}

function toEndpoint(a: Announcement): Endpoint {
  return {
    instanceId: a.instanceId,
    services: a.services,
    address: a.address,
    natsSubject: a.natsSubject,
    version: a.version,
    ready: a.ready,
    load: {
      inFlight: a.load?.inFlight ?? 0,
      eventLoopDelayMs: (a.load?.eventLoopDelayUs ?? 0) / 1000,
      workerQueueDepth: a.load?.workerQueueDepth ?? 0,
      concurrencyLimit: a.load?.concurrencyLimit ?? 0,
    },
  };
}

function resolveOptions(options: NatsDiscoveryOptions): Required<NatsDiscoveryOptions> {
  assertObject(OPTIONS, options, "options");
  if (options.nc === undefined) throw new WeftOptionsError(OPTIONS, "options.nc must be a NATS connection");
  const subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  assertSubject(subjectPrefix, "options.subjectPrefix");
  const services = options.services ?? [];
  if (!Array.isArray(services)) throw new WeftOptionsError(OPTIONS, "options.services must be an array of service names");
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
