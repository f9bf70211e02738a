import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { context, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import type { EventBus } from "../../mesh/events/index.ts";
import type { SqlClient } from "./sql-client.ts";

/** Options of {@link startOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The orders database (migrated). Required. */
  readonly db: SqlClient;
  /** Where the events go (the row id is the publish's dedupe id). Required. */
  readonly events: EventBus;
  /** The event types the outbox may hold. Required. */
  readonly schemas: readonly DescMessage[];
  /** Look for unsent rows at least this often, in ms (rows left by a crashed replica, missed wakes). Default 1,000. */
  readonly pollIntervalMs?: number;
  /**
   * After a wake, how long a pass waits for more commits to take with it, in ms (each pass is a
   * transaction of its own). Default 20.
   */
  readonly batchWindowMs?: number;
  /** Most rows one transaction claims. Default 100. */
  readonly batchSize?: number;
  /** Sent rows are deleted once older than this, in ms (well past JetStream's 2-minute duplicate window). Default 3,600,000 (1 hour). */
  readonly sentRetentionMs?: number;
  /** Failures the relay retries by itself (database or broker down, an unknown type). Default: nothing. */
  readonly onError?: (err: unknown) => void;
}

/** A running relay. */
export interface OutboxRelay {
  /** Asks for a pass now (after a commit that wrote outbox rows). */
  wake(): void;
  /** Stops after the pass in progress (its claimed rows are published or left unsent, never half-marked). */
  stop(): Promise<void>;
}

/** Most often a relay deletes old sent rows. */
const PRUNE_INTERVAL_MS = 60_000;

interface OutboxRow {
  seq: string;
  id: string;
  type: string;
  payload: Uint8Array;
  traceparent: string | null;
}

/**
 * Publishes outbox rows to the event bus and marks them sent. A pass claims unsent rows with
 * `FOR UPDATE SKIP LOCKED`, so relays of several replicas take disjoint rows, and holds them until it
 * has published and marked them in the same transaction. A crash between publish and mark leaves the
 * rows unsent; the next pass publishes them again with the same id and JetStream stores them once.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  if (!options?.db) throw new TypeError("options.db must be a SqlClient");
  if (!options.events) throw new TypeError("options.events must be an EventBus");
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 100;
  const batchWindowMs = options.batchWindowMs ?? 20;
  if (!(batchWindowMs >= 0)) throw new TypeError("options.batchWindowMs must be a non-negative number");
  const sentRetentionMs = options.sentRetentionMs ?? 3_600_000;
  if (!(pollIntervalMs > 0)) throw new TypeError("options.pollIntervalMs must be a positive number");
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError("options.batchSize must be a positive integer");
  if (!(sentRetentionMs >= 0)) throw new TypeError("options.sentRetentionMs must be a non-negative number");
  const { db, events } = options;
  const onError = options.onError ?? (() => {});
  const schemas = new Map(options.schemas.map((schema) => [schema.typeName, schema]));
  const stopping = new AbortController();
  let wakeUp: (() => void) | undefined;
  let wanted = false;
  let prunedAt = 0;

  /** Deletes sent rows past their retention, at most once per retention period or minute (SKIP LOCKED: never waits on a pass). */
  async function prune(): Promise<void> {
    const now = Date.now();
    if (now - prunedAt < Math.min(sentRetentionMs, PRUNE_INTERVAL_MS)) return;
    prunedAt = now;
    await db.query(
      `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent_at < now() - make_interval(secs => $1::double precision / 1000)
       LIMIT 1000 FOR UPDATE SKIP LOCKED)`,
      [sentRetentionMs],
    );
  }

  /** One pass; true when it found a full batch (more may be waiting). */
  async function pass(): Promise<boolean> {
    return db.transaction(async (tx) => {
      // An index scan marks the entries of rows sent since as dead, so they stop costing later passes
      // (PGlite never vacuums); a bitmap scan visits every row the index ever held, pass after pass.
      await tx.query("SET LOCAL enable_bitmapscan = off");
      // outbox.seq, not the text column of the same name: "10" sorts before "9".
      const rows = await tx.query<OutboxRow>(
        "SELECT seq::text AS seq, id, type, payload, traceparent FROM outbox WHERE sent_at IS NULL ORDER BY outbox.seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        [batchSize],
      );
      const sent: string[] = [];
      for (const row of rows) {
        if (stopping.signal.aborted) break;
        const schema = schemas.get(row.type);
        if (!schema) {
          onError(new Error(`outbox row ${row.id} has unknown event type ${row.type}`));
          continue;
        }
        const message = fromBinary(schema, row.payload);
        await context.with(parentContext(row.traceparent), () => events.publish(schema, message, { id: row.id, signal: stopping.signal }));
        sent.push(row.seq);
      }
      if (sent.length > 0) await tx.query("UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])", [sent]);
      return rows.length === batchSize;
    });
  }

  async function loop(): Promise<void> {
    while (!stopping.signal.aborted) {
      wanted = false;
      let more = false;
      try {
        more = await pass();
      } catch (err) {
        if (!stopping.signal.aborted) onError(err);
      }
      await prune().catch((err) => stopping.signal.aborted || onError(err));
      if (more || stopping.signal.aborted) continue;
      // Commits during the pass wait out the batch window with the ones that follow: one pass for a burst.
      await new Promise<void>((resolve) => {
        let timer = setTimeout(done, wanted ? batchWindowMs : pollIntervalMs);
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          stopping.signal.removeEventListener("abort", done);
          resolve();
        }
        // The first wake of a poll wait starts the batch window; a wait that already is one ignores wakes.
        wakeUp = wanted
          ? undefined
          : () => {
              clearTimeout(timer);
              timer = setTimeout(done, batchWindowMs);
              wakeUp = undefined;
            };
        stopping.signal.addEventListener("abort", done);
      });
    }
  }

  const running = loop();
  return {
    wake() {
      wanted = true;
      wakeUp?.();
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

/** The context of the span that wrote the row, so the publish joins the order's trace. */
function parentContext(traceparent: string | null) {
  const match = traceparent?.match(/^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/);
  if (!match) return ROOT_CONTEXT;
  const traceFlags = Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: match[1]!, spanId: match[2]!, traceFlags, isRemote: true });
}
