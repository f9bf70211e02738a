// V8 settings a Weft server process runs with, applied once per process by createHost (opt out with
// `tuneGc: false`, e.g. when the embedding application manages V8 flags itself).
//
// Allocation-site pretenuring: V8 watches which allocation sites' objects survive young-generation
// GCs and starts allocating them straight in the old generation. Under RPC load a few early
// scavenges (small young generation, many calls in flight) can flag Node's own per-stream sites
// (Http2Stream, its stream states, header objects); from then on every call's objects are born old,
// die old, and cost mark-compacts plus slower scavenges. Measured on the host under h2load
// (100,000 unary gRPC calls, 64 in flight): scavenge time 0.45-0.78 s with 5 mark-compacts with
// pretenuring on, 0.10-0.25 s with 1 mark-compact off; server CPU per call 26.8 us -> 25.2 us.

import { setFlagsFromString } from "node:v8";

/** The V8 flags Weft's server processes run with (also passed to every server the benchmarks start). */
export const SERVER_V8_FLAGS: readonly string[] = Object.freeze(["--no-allocation-site-pretenuring"]);

let applied = false;

/**
 * Applies SERVER_V8_FLAGS to this process (once). V8 reads the pretenuring setting at every GC, so
 * setting it before the first call is served is as good as passing it on the command line.
 */
export function applyServerV8Flags(): void {
  if (applied) return;
  applied = true;
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}
