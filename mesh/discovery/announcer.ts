// An instance's side of discovery: heartbeats with its address and load, answers to table queries,
// and a leave when it drains.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { AnnouncementSchema, LeaveSchema, TableQuerySchema } from "../../gen/weft/mesh/v1/registry_pb.ts";
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
  /** Fully-qualified names of the services it serves; at least one. */
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
  const subjects = registrySubjects(o.subjectPrefix);
  const nc = o.nc;
  let sequence = 0n;
  let ready = o.ready;
  let timer: NodeJS.Timeout | undefined;
  let querySub: Subscription | undefined;
  let state: "new" | "running" | "left" = "new";

  function announcement(): Uint8Array {
    sequence++;
    const load = o.load();
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
        load: {
          inFlight: clampU32(load.inFlight),
          eventLoopDelayUs: clampU32(load.eventLoopDelayMs * 1000),
          workerQueueDepth: clampU32(load.workerQueueDepth),
          concurrencyLimit: clampU32(load.concurrencyLimit),
        },
      }),
    );
  }

  function announce(): void {
    if (state !== "running" || nc.isClosed()) return;
    nc.publish(subjects.announce, announcement());
  }

  return {
    instanceId: o.instanceId,
    async start() {
      if (state !== "new") return;
      state = "running";
      querySub = nc.subscribe(subjects.query, {
        callback: (err, msg) => {
          if (err !== null || state !== "running" || !msg.reply) return;
          let wanted: readonly string[] = [];
          try {
            wanted = fromBinary(TableQuerySchema, msg.data).services;
          } catch {
            return; // not a query we understand
          }
          if (wanted.length > 0 && !wanted.some((s) => o.services.includes(s))) return;
          msg.respond(announcement());
        },
      });
      announce();
      timer = setInterval(announce, o.heartbeatIntervalMs);
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
      querySub?.unsubscribe();
      if (!wasRunning || nc.isClosed()) return;
      sequence++;
      nc.publish(subjects.leave, toBinary(LeaveSchema, create(LeaveSchema, { instanceId: o.instanceId, sequence })));
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
  options.services.forEach((s, i) => assertNonEmpty(OPTIONS, s, `options.services[${i}]`));
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
