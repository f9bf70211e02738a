import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CacheOptionsError, raceAbort } from "../errors/index.ts";
import type { Cache, CacheLoadOptions } from "./cache.ts";
import { SingleFlight } from "./single-flight.ts";
import { jitteredTtlMs, parseTtlOptions } from "./ttl.ts";
import type { Metrics } from "../telemetry/index.ts";

/** Options for `createMemoryCache`. */
export interface MemoryCacheOptions {
  /** Time to live of a loaded value. Default 30,000. */
  readonly ttlMs?: number;
  /** Each TTL is stretched by a random fraction up to this. Default 0.1. */
  readonly ttlJitter?: number;
  /** Most entries kept; the least recently used goes first. Default 10,000. */
  readonly maxEntries?: number;
  /** Where hits, misses and fills are counted (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
  /** The `cache` label of those metrics. Default "memory". */
  readonly metricsName?: string;
}

interface Entry {
  readonly bytes: Uint8Array;
  readonly expiresAt: number;
}

/**
 * An in-process read-through cache (the embedded default). Values are kept as binary Protobuf, like
 * the Redis cache, so every caller gets its own copy and nothing can mutate a cached value.
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const { ttlMs, ttlJitter } = parseTtlOptions(options);
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new CacheOptionsError("options.maxEntries must be a positive integer");
  const entries = new Map<string, Entry>(); // insertion order = recency
  const flights = new SingleFlight<Uint8Array>();
  let closed = false;
  const cells = options.metrics?.cache(options.metricsName ?? "memory");

  return {
    async getOrLoad(schema, key, load, loadOptions: CacheLoadOptions = {}) {
      if (closed) throw new ConnectError("cache is closed", Code.Unavailable);
      const entry = entries.get(key);
      if (entry && entry.expiresAt > Date.now()) {
        entries.delete(key);
        entries.set(key, entry);
        if (cells !== undefined) cells.hitsShared.value++;
        return fromBinary(schema, entry.bytes);
      }
      if (entry) entries.delete(key);
      const ttl = jitteredTtlMs(loadOptions.ttlMs ?? ttlMs, ttlJitter);
      const bytes = await raceAbort(
        flights.do(
          key,
          async () => {
            if (cells !== undefined) cells.misses.value++;
            return toBinary(schema, await load());
          },
          (loaded) => {
            if (cells !== undefined) cells.fills.value++;
            entries.set(key, { bytes: loaded, expiresAt: Date.now() + ttl });
            if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
          },
        ),
        loadOptions.signal,
      );
      return fromBinary(schema, bytes);
    },

    async invalidate(key) {
      entries.delete(key);
      flights.forget(key);
    },

    async close() {
      closed = true;
      entries.clear();
      flights.forgetAll();
    },
  };
}
