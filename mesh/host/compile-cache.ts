// Node's on-disk compile cache for service processes: with it, a warm start skips type stripping
// (Node's TypeScript stripper is a WebAssembly module that costs every process memory) and compiling.

import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The environment that turns on Node's compile cache for a child process: the caller's
 * `NODE_COMPILE_CACHE` when set, else one directory under the system's temporary directory shared by
 * every Weft process (Node's `NODE_DISABLE_COMPILE_CACHE=1` still turns it off).
 */
export function serviceCompileCacheEnv(env: NodeJS.ProcessEnv): { readonly NODE_COMPILE_CACHE: string } {
  return { NODE_COMPILE_CACHE: env.NODE_COMPILE_CACHE ?? join(tmpdir(), "weft-node-compile-cache") };
}
