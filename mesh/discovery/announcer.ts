// An instance's side of discovery, on its services' own subjects: its full record when it starts or
// changes, a compact heartbeat (id, sequence, load) every interval, answers to table queries, and a
// leave when it drains.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Msg, NatsConnection, Status, Subscription } from "@nats-io/transport-node";
import { AnnouncementSchema, HeartbeatSchema, LeaveSchema, TableQuerySchema } from "../../gen/weft/mesh/v1/registry_pb.ts";
import type { EndpointLoad } from "./endpoint.ts";
import { NO_LOAD } from "./endpoint.ts";
import { assertSubject, DEFAULT_SUBJECT_PREFIX, registrySubjects } from "./subjects.ts";
import { assertInt, assertNonEmpty, assertObject, WeftOptionsError } from "../errors/index.ts";
import { assertAddress } from "./address.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_DISCOVERY_OPTIONS";

/** Options of {@link createAnnouncer}. */
export interface AnnouncerOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** Unique id of this instance. */
  readonly instanceId: string;
  /** Fully-qualified names of the services it serves (NATS subject tokens); at least one. */
  readonly services: readonly string[];
  /** "host:port" where HTTP/2 clients reach it; empty when it serves only over NATS. Default "". */
  readonly address?: string;
  /** Subject prefix on which it serves Connect over NATS; empty when it does not. Default "". */
  readonly natsSubject?: string;
  /** Build version. Default "0.0.0". */
  readonly version?: string;
  /** Discovery subject prefix, shared by every instance and client of one mesh. Default "weft.registry". */
  readonly subjectPrefix?: string;
  /** Milliseconds between heartbeats. Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Milliseconds without a heartbeat after which clients drop this instance. Default 3 x
   * heartbeatIntervalMs (3000); must be more than heartbeatIntervalMs.
   */
  readonly expiryMs?: number;
  /** Reports current load, read at every heartbeat. Default: zeros. */
  readonly load?: () => EndpointLoad;
  /** Whether to announce as ready from the start. Default true. */
  readonly ready?: boolean;
}

/** The announcing side of one instance. */
export interface Announcer {
  /** This instance's id. */
  readonly instanceId: string;
  /** Starts heartbeats and answering table queries; resolves once the first announcement is flushed. */
  start(): Promise<void>;
  /** Changes readiness and announces it at once. */
  setReady(ready: boolean): void;
  /** Announces that this instance leaves (drains): stops heartbeats and query answers. Idempotent. */
  leave(): Promise<void>;
  /** Same as leave(). */
  close(): Promise<void>;
}

/** Creates an announcer; nothing is sent until `start()`. */
export function createAnnouncer(options: AnnouncerOptions): Announcer {
  const o = resolveOptions(options);
  const registry = registrySubjects(o.subjectPrefix);
  const subjects = o.services.map((service) => registry.service(service));
  const nc = o.nc;
  let sequence = 0n;
  // The sequence of the latest full record; heartbeats name it so a client can tell it is behind.
  let revision = 0n;
  let ready = o.ready;
  // This process's NATS connections so far: a reconnect (to another server of the cluster) is announced.
  let natsConnection = 1;
  let statuses: (AsyncIterable<Status> & { stop?: () => void }) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const querySubs: Subscription[] = [];
  let state: "new" | "running" | "left" = "new";

  function load() {
    const l = o.load();
    return {
      inFlight: clampU32(l.inFlight),
      eventLoopDelayUs: clampU32(l.eventLoopDelayMs * 1000),
      workerQueueDepth: clampU32(l.workerQueueDepth),
      concurrencyLimit: clampU32(l.concurrencyLimit),
    };
  }

  function announcement(): Uint8Array {
    sequence++;
    return toBinary(
      AnnouncementSchema,
      create(AnnouncementSchema, {
        instanceId: o.instanceId,
        services: [...o.services],
        address: o.address,
        natsSubject: o.natsSubject,
        version: o.version,
        ready,
        sequence,
        heartbeatIntervalMs: o.heartbeatIntervalMs,
        expiryMs: o.expiryMs,
        load: load(),
        natsConnection,
      }),
    );
  }

  // The full record, on every service's announce subject: at start and when it changes.
  function announce(): void {
    if (state !== "running" || nc.isClosed()) return;
    const data = announcement();
    revision = sequence;
    for (const s of subjects) nc.publish(s.announce, data);
  }

  function beat(): void {
    if (state !== "running" || nc.isClosed()) return;
    sequence++;
    const data = toBinary(HeartbeatSchema, create(HeartbeatSchema, { instanceId: o.instanceId, sequence, revision, load: load() }));
    for (const s of subjects) nc.publish(s.beat, data);
  }

  function answer(err: Error | null, msg: Msg): void {
    if (err !== null || state !== "running" || !msg.reply) return;
    let query;
    try {
      query = fromBinary(TableQuerySchema, msg.data);
    } catch {
      return; // not a query we understand
    }
    if (query.services.length > 0 && !query.services.some((s) => o.services.includes(s))) return;
    if (query.instanceIds.length > 0 && !query.instanceIds.includes(o.instanceId)) return;
    // A reply is the current record: its sequence is past `revision`, so it bumps nobody's copy.
    msg.respond(announcement());
  }

  return {
    instanceId: o.instanceId,
    async start() {
      if (state !== "new") return;
      state = "running";
      for (const subject of [registry.queryAll, ...subjects.map((s) => s.query)]) {
        querySubs.push(nc.subscribe(subject, { callback: answer }));
      }
      announce();
      // Requests and replies in flight through a server that died are lost without a trace: after a
      // reconnect the new record tells clients to stop waiting for them (nats_connection, registry.proto).
      statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
      void (async () => {
        for await (const s of statuses!) {
          if (state !== "running") break;
          if (s.type === "reconnect") {
            natsConnection++;
            announce();
          }
        }
      })().catch(() => undefined);
      timer = setInterval(beat, o.heartbeatIntervalMs);
      timer.unref();
      await nc.flush();
    },
    setReady(value) {
      if (ready === value) return;
      ready = value;
      announce();
    },
    async leave() {
      if (state === "left") return;
      const wasRunning = state === "running";
      state = "left";
      clearInterval(timer);
      statuses?.stop?.();
      for (const sub of querySubs) sub.unsubscribe();
      if (!wasRunning || nc.isClosed()) return;
      sequence++;
      const data = toBinary(LeaveSchema, create(LeaveSchema, { instanceId: o.instanceId, sequence }));
      for (const s of subjects) nc.publish(s.leave, data);
      await nc.flush().catch(() => undefined);
    },
    close() {
      return this.leave();
    },
  };
}

function clampU32(n: number): number {
  if (!Number.isFinite(n) || n <= 0) return 0;
  return Math.min(Math.round(n), 0xffffffff);
}

interface ResolvedAnnouncerOptions {
  nc: NatsConnection;
  instanceId: string;
  services: readonly string[];
  address: string;
  natsSubject: string;
  version: string;
  subjectPrefix: string;
  heartbeatIntervalMs: number;
  expiryMs: number;
  load: () => EndpointLoad;
  ready: boolean;
}

function resolveOptions(options: AnnouncerOptions): ResolvedAnnouncerOptions {
  assertObject(OPTIONS, options, "options");
  if (options.nc === undefined) throw new WeftOptionsError(OPTIONS, "options.nc must be a NATS connection");
  assertNonEmpty(OPTIONS, options.instanceId, "options.instanceId");
  if (!Array.isArray(options.services) || options.services.length === 0) {
    throw new WeftOptionsError(OPTIONS, "options.services must be a non-empty array of service names");
  }
  options.services.forEach((s, i) => assertSubject(s, `options.services[${i}]`));
  const address = options.address ?? "";
  if (address !== "") assertAddress(address, "options.address");
  const natsSubject = options.natsSubject ?? "";
  if (natsSubject !== "") assertSubject(natsSubject, "options.natsSubject");
  if (address === "" && natsSubject === "") {
    throw new WeftOptionsError(OPTIONS, "options.address or options.natsSubject must be set: clients need a way to reach the instance");
  }
  const subjectPrefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  assertSubject(subjectPrefix, "options.subjectPrefix");
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
  assertInt(OPTIONS, heartbeatIntervalMs, "options.heartbeatIntervalMs", 10);
  const expiryMs = options.expiryMs ?? heartbeatIntervalMs * 3;
  assertInt(OPTIONS, expiryMs, "options.expiryMs", heartbeatIntervalMs + 1);
  if (options.load !== undefined && typeof options.load !== "function") {
    throw new WeftOptionsError(OPTIONS, "options.load must be a function");
  }
  return {
    nc: options.nc,
    instanceId: options.instanceId,
    services: [...options.services],
    address,
    natsSubject,
    version: options.version ?? "0.0.0",
    subjectPrefix,
    heartbeatIntervalMs,
    expiryMs,
    load: options.load ?? (() => NO_LOAD),
    ready: options.ready ?? true,
  };
}
