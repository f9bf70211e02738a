// The mesh client's way out when NATS is unreachable: while its NATS connection is down (from the
// `disconnect` status nats.js reports to the `reconnect` one), services on the nats transport are
// called over gRPC (HTTP/2) at the addresses discovery announced for the same instances. Calls
// waiting for a NATS reply at the moment of loss are failed with UNAVAILABLE (their reply can no
// longer come), and the mesh client retries the idempotent ones, over gRPC. After a reconnect, calls
// stay on gRPC for `settleMs` more, so that the instances' own connections are back and subscribed
// before calls go to their subjects. Each fallback and its duration are logged and counted.

import type { NatsConnection, Status } from "@nats-io/transport-node";
import type { HostLogger } from "../engine/index.ts";
import type { Metrics } from "../telemetry/index.ts";

/** Options of {@link watchNatsConnection}. */
export interface NatsFallbackOptions {
  readonly nc: NatsConnection;
  /** The connection was lost: fail the calls waiting on it. */
  readonly onLost: () => void;
  readonly logger: HostLogger | undefined;
  readonly metrics: Metrics | undefined;
  /** How long calls stay on gRPC after the reconnect, in milliseconds. */
  readonly settleMs: number;
}

/** The fallback state of one mesh client. */
export interface NatsFallback {
  /** True while NATS is down and its calls go over gRPC. */
  readonly active: boolean;
  /** Fallbacks so far. */
  readonly count: number;
  /** Stops watching. */
  close(): void;
}

/** Follows the connection's status and switches between NATS and the gRPC fallback. */
export function watchNatsConnection(options: NatsFallbackOptions): NatsFallback {
  const { nc, logger, metrics } = options;
  let active = nc.isClosed();
  let count = 0;
  let since = 0;
  let closed = false;
  let settling: NodeJS.Timeout | undefined;

  function lost(reason: string): void {
    clearTimeout(settling);
    settling = undefined;
    if (active) return;
    active = true;
    count++;
    since = performance.now();
    if (metrics !== undefined) metrics.natsFallback.fallbacks.value++;
    logger?.error("NATS connection lost: calls over NATS fall back to gRPC (HTTP/2)", { reason });
    options.onLost();
  }

  function back(): void {
    if (!active) return;
    active = false;
    const fallbackMs = Math.round(performance.now() - since);
    if (metrics !== undefined) metrics.natsFallback.seconds.value += fallbackMs / 1000;
    logger?.info("NATS connection back: calls return to NATS", { fallbackMs });
  }

  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statuses) {
      if (closed) break;
      if (s.type === "disconnect" || s.type === "close") lost(s.type);
      else if (s.type === "reconnect" && active && settling === undefined) {
        settling = setTimeout(() => {
          settling = undefined;
          back();
        }, options.settleMs);
        settling.unref();
      }
    }
  })().catch(() => undefined);

  return {
    get active() {
      return active;
    },
    get count() {
      return count;
    },
    close() {
      closed = true;
      clearTimeout(settling);
      statuses.stop?.();
    },
  };
}
