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

/**
 * Applies SERVER_V8_FLAGS to this process (idempotent: setting a flag again changes nothing). V8 reads
 * the pretenuring setting at every GC, so setting it before the first call is served is as good as
 * passing it on the command line.
 */
export function applyServerV8Flags(): void {
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}

/**
 * Node command-line flags for a service process that has a core to itself (what `npm run
 * start:distributed`, the Docker image and `npm run bench:overload` start services with). They cannot be
 * set at run time (`--single-threaded-gc` is not even accepted in NODE_OPTIONS):
 *   --single-threaded-gc     on one core, V8's parallel GC helper threads only contend with the thread
 *                            waiting for them, which lengthens every pause;
 *   --max-semi-space-size=4  a young generation of at most 2 x 4 MB keeps each scavenge short (V8 grew
 *                            it to 64 MB under overload, with 7-35 ms scavenges).
 * Measured with `npm run bench:overload` (2x capacity, 2 runs each): refusal p99 10.8 -> 3.5 ms
 * (sleep-bound work) and 20.1 -> 6.4 ms (CPU-bound), instance RSS under overload ~240 -> 152 MB; either
 * flag alone was not enough (semi-space cap only: 11.3 / 22.6 ms).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze(["--single-threaded-gc", "--max-semi-space-size=4"]);
