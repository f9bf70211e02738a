// V8 and Node flags of Weft's server processes: fewer and shorter GC pauses under RPC load (figures in
// docs/host.md, "V8 and Node flags"). createHost applies SERVER_V8_FLAGS unless `tuneGc: false`.

import { setFlagsFromString } from "node:v8";

/** V8 flags of Weft's server processes (and every server the benchmarks start): no allocation-site pretenuring. */
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
 * Node command-line flags for a service process that has a core to itself (`npm run start:distributed`,
 * the Docker image, `npm run bench:overload`); command line only, NODE_OPTIONS refuses the first.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = Object.freeze(["--single-threaded-gc", "--max-semi-space-size=4"]);
