// The mesh-wide view any instance can serve: from its first use it gathers every instance over NATS
// each second (one request, every instance replies), merges their per-second figures into a bounded
// window of history (15 minutes by default) and keeps each instance's latest snapshot. It stops, and
// forgets, after a long idle spell so that an unwatched mesh pays nothing.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { GatherReplySchema, GatherRequestSchema, type InstanceSnapshot, type MeshSnapshot, MeshSnapshotSchema } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { RedWindow } from "../telemetry/index.ts";
import { collectReplies } from "./collect-replies.ts";
import { gatherSubject } from "./gather-subject.ts";
import { seriesMessages, statsMessages } from "./red-messages.ts";

/** Seconds every gathering asks for again, so a reply that missed its round (a cold or busy instance) is not lost. */
const RESEND_SECONDS = 5;

/** Options of {@link createMeshAggregator}. */
export interface MeshAggregatorOptions {
  readonly nc: NatsConnection;
  /** Id of the instance serving the aggregate (reported as `aggregator_id`). */
  readonly instanceId: string;
  /** Discovery subject prefix of the mesh. Default "weft.registry". */
  readonly registryPrefix?: string;
  /** Seconds of history kept. Default 900 (15 minutes). */
  readonly historySeconds?: number;
  /** Milliseconds between gatherings. Default 1000. */
  readonly intervalMs?: number;
  /** Milliseconds a gathering waits for replies. Default 300. */
  readonly gatherWaitMs?: number;
  /** Milliseconds without a snapshot request after which gathering stops and history is dropped. Default 900,000. */
  readonly idleStopMs?: number;
  /** Keys (service, method, caller) of history kept. Default 512. */
  readonly maxKeys?: number;
  /** Milliseconds after which an instance that stopped answering is left out. Default 3,000. */
  readonly instanceExpiryMs?: number;
}

/** The mesh-wide view. */
export interface MeshAggregator {
  /** The mesh over the last `windowSeconds` (starts gathering at the first call and waits for one round). */
  snapshot(request: { windowSeconds: number; series: boolean }, signal?: AbortSignal): Promise<MeshSnapshot>;
  /** True while gathering. */
  readonly running: boolean;
  /** Stops gathering. */
  close(): void;
}

/** Creates an aggregator; it gathers nothing until the first `snapshot`. */
export function createMeshAggregator(options: MeshAggregatorOptions): MeshAggregator {
  const nc = options.nc;
  const subject = gatherSubject(options.registryPrefix ?? "weft.registry");
  const replyPrefix = `${options.registryPrefix ?? "weft.registry"}.reply`;
  const historySeconds = options.historySeconds ?? 900;
  const intervalMs = options.intervalMs ?? 1000;
  const gatherWaitMs = options.gatherWaitMs ?? 300;
  const idleStopMs = options.idleStopMs ?? 900_000;
  const expiryMs = options.instanceExpiryMs ?? 3000;
  let window: RedWindow | undefined;
  let instances = new Map<string, { snapshot: InstanceSnapshot; seenAt: number }>();
  // The newest second merged per instance: a reply that came too late is asked for again next round,
  // and a second is never merged twice.
  let merged = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let gathering: Promise<void> | undefined;
  let lastGathered = 0;
  let firstSecond = 0;
  let lastUsed = 0;

  async function gather(): Promise<void> {
    const w = window;
    if (w === undefined || nc.isClosed()) return;
    const to = Math.floor(Date.now() / 1000) - 1;
    if (to <= lastGathered) return;
    // Ask from the oldest second a live instance still owes, and always a few seconds back for those
    // whose replies have not arrived yet (at most a minute back).
    const oldest = Math.min(to - RESEND_SECONDS, ...[...instances.keys()].map((id) => merged.get(id) ?? lastGathered));
    const from = lastGathered === 0 ? to - Math.min(60, historySeconds) + 1 : Math.max(oldest + 1, to - 59);
    if (firstSecond === 0) firstSecond = from;
    const request = toBinary(GatherRequestSchema, create(GatherRequestSchema, { fromUnixS: BigInt(from), toUnixS: BigInt(to) }));
    const replies = await collectReplies(nc, subject, request, { replyPrefix: replyPrefix, maxWaitMs: gatherWaitMs });
    const now = Date.now();
    for (const msg of replies) {
      let reply;
      try {
        reply = fromBinary(GatherReplySchema, msg.data);
      } catch {
        continue;
      }
      const id = reply.instance?.instanceId;
      if (reply.instance !== undefined) instances.set(reply.instance.instanceId, { snapshot: reply.instance, seenAt: now });
      const after = id === undefined ? 0 : (merged.get(id) ?? 0);
      for (const s of reply.seconds) {
        if (Number(s.unixS) > after) w.merge({ service: s.service, method: s.method, caller: s.caller, unixS: Number(s.unixS), calls: s.calls, errors: s.errors, buckets: s.buckets });
      }
      if (id !== undefined) merged.set(id, to);
    }
    lastGathered = to;
    for (const [id, entry] of instances) {
      if (now - entry.seenAt > expiryMs) instances.delete(id);
    }
    // A silent instance's cursor is kept while a reply could still repeat its seconds (one minute).
    for (const [id, second] of merged) if (second < to - 60) merged.delete(id);
  }

  function tick(): void {
    if (Date.now() - lastUsed > idleStopMs) return stop();
    if (gathering !== undefined) return; // the previous round is still waiting for replies
    gathering = gather().catch(() => undefined).finally(() => (gathering = undefined));
  }

  function start(): Promise<void> {
    window = new RedWindow({ seconds: historySeconds, maxKeys: options.maxKeys ?? 512 });
    timer = setInterval(tick, intervalMs);
    timer.unref();
    gathering = gather().catch(() => undefined).finally(() => (gathering = undefined));
    return gathering;
  }

  function stop(): void {
    clearInterval(timer);
    timer = undefined;
    window = undefined;
    instances = new Map();
    merged = new Map();
    lastGathered = 0;
    firstSecond = 0;
  }

  return {
    get running() {
      return timer !== undefined;
    },
    async snapshot(request, signal) {
      lastUsed = Date.now();
      if (timer === undefined) await start();
      else if (lastGathered === 0 && gathering !== undefined) await gathering;
      signal?.throwIfAborted();
      const w = window!;
      const windowSeconds = Math.min(request.windowSeconds, historySeconds);
      return create(MeshSnapshotSchema, {
        takenAtMs: BigInt(lastGathered * 1000 + 999),
        windowSeconds,
        aggregatorId: options.instanceId,
        instances: [...instances.values()].map((e) => e.snapshot).sort((a, b) => a.instanceId.localeCompare(b.instanceId)),
        methods: statsMessages(w.summarize(lastGathered, windowSeconds)),
        series: request.series ? seriesMessages(w.series(lastGathered, windowSeconds)) : [],
        historySeconds: lastGathered === 0 ? 0 : lastGathered - firstSecond + 1,
      });
    },
    close: stop,
  };
}
