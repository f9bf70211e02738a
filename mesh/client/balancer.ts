// Power of two choices: draw two candidates at random and send to the cheaper, where cost is the
// expected latency (peak EWMA plus the event-loop delay the instance reports) times the work in front
// of the call (our outstanding calls plus a share of the load the instance reports). Cheap, no global
// state, and it drains traffic away from slow or busy instances within a few calls.

import type { Endpoint } from "../discovery/index.ts";
import type { EndpointStats } from "./endpoint-stats.ts";

/** A choice candidate: the endpoint and what we know of it. */
export interface Candidate {
  readonly endpoint: Endpoint;
  readonly stats: EndpointStats;
}

/** Weights of the cost function. */
export interface CostWeights {
  /** How much one in-flight call reported by the instance counts against one of ours. */
  readonly reportedLoadWeight: number;
  /** Baseline latency an idle endpoint's estimate drifts toward, in milliseconds. */
  readonly initialLatencyMs: number;
}

/** The cost of sending one more call to `c`. */
export function cost(c: Candidate, now: number, w: CostWeights): number {
  const load = c.endpoint.load;
  const latency = c.stats.latencyMs(now, w.initialLatencyMs) + load.eventLoopDelayMs;
  const queue = c.stats.outstanding + 1 + (load.inFlight + load.workerQueueDepth) * w.reportedLoadWeight;
  return latency * queue;
}

/**
 * Picks one candidate by power of two choices (or the only one). `random` is injectable for tests.
 * Returns undefined for an empty list.
 */
export function pickP2C(candidates: readonly Candidate[], now: number, w: CostWeights, random: () => number = Math.random): Candidate | undefined {
  const n = candidates.length;
  if (n <= 1) return candidates[0];
  const i = Math.floor(random() * n);
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j++;
  const a = candidates[i];
  const b = candidates[j];
  return cost(b, now, w) < cost(a, now, w) ? b : a;
}
