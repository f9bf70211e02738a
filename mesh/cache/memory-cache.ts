import { Code, ConnectError } from "@connectrpc/connect";
import { CacheOptionsError, raceAbort } from "../errors/index.ts";
import type { Cache, CacheLoadOptions } from "./cache.ts";
import { SingleFlight } from "./single-flight.ts";
import { decodeValue, encodeValue } from "./value-codec.ts";
import { jitteredTtlMs, parseTtlOptions } from "./ttl.ts";
import type { Metrics } from "../telemetry/index.ts";

/** Default byte budget of a memory cache: 32 MiB. */
export const DEFAULT_MEMORY_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** Bytes charged per entry besides its value and key (map slot, entry object, numbers). */
const ENTRY_OVERHEAD_BYTES = 96;

/** Options for `createMemoryCache`. */
export interface MemoryCacheOptions {
  /** Time to live of a loaded value. Default 30,000. */
  readonly ttlMs?: number;
  /** Each TTL is stretched by a random fraction up to this. Default 0.1. */
  readonly ttlJitter?: number;
  /** Most entries kept; the least recently used goes first. Default 10,000. */
  readonly maxEntries?: number;
  /**
   * Most bytes kept (encoded values, keys and a fixed overhead per entry); the least recently used go
   * first, and a value larger than an eighth of this is served but never stored. Default 32 MiB.
   */
  readonly maxBytes?: number;
  /** Where hits, misses and fills are counted (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
  /** The `cache` label of those metrics. Default "memory". */
  readonly metricsName?: string;
}

/** What a memory cache holds now. */
export interface MemoryCacheStats {
  readonly entries: number;
  /** Bytes charged against `maxBytes`. */
  readonly bytes: number;
}

/** The in-memory cache, with its size observable. */
export interface MemoryCache extends Cache {
  stats(): MemoryCacheStats;
}

interface Entry {
  readonly bytes: Uint8Array;
  readonly expiresAt: number;
  readonly size: number;
}

/**
 * An in-process read-through cache (the embedded default). Values are kept as binary Protobuf, like
 * the Redis cache, so every caller gets its own copy and nothing can mutate a cached value. Bounded in
 * entries and in bytes: what callers can make it hold never outgrows `maxBytes`.
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): MemoryCache {
  const { ttlMs, ttlJitter } = parseTtlOptions(options);
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new CacheOptionsError("options.maxEntries must be a positive integer");
  const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_CACHE_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1024) throw new CacheOptionsError("options.maxBytes must be an integer of at least 1024");
  const maxEntryBytes = Math.floor(maxBytes / 8);
  const entries = new Map<string, Entry>(); // insertion order = recency
  const flights = new SingleFlight<Uint8Array>();
  let bytes = 0;
  let closed = false;
  const cells = options.metrics?.cache(options.metricsName ?? "memory");

  const remove = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    bytes -= entry.size;
  };
  const store = (key: string, value: Uint8Array, ttl: number) => {
    remove(key);
    const size = value.byteLength + key.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (closed || size > maxEntryBytes) return;
    entries.set(key, { bytes: value, expiresAt: Date.now() + ttl, size });
    bytes += size;
    while (entries.size > maxEntries || bytes > maxBytes) remove(entries.keys().next().value!);
  };

  return {
    async getOrLoad(schema, key, load, loadOptions: CacheLoadOptions = {}) {
      if (closed) throw new ConnectError("cache is closed", Code.Unavailable);
      const entry = entries.get(key);
      if (entry && entry.expiresAt > Date.now()) {
        entries.delete(key);
        entries.set(key, entry);
        if (cells !== undefined) cells.hitsShared.value++;
        return decodeValue(schema, entry.bytes);
      }
      if (entry) remove(key);
      const ttl = jitteredTtlMs(loadOptions.ttlMs ?? ttlMs, ttlJitter);
      const loaded = await raceAbort(
        flights.do(
          key,
          async () => {
            if (cells !== undefined) cells.misses.value++;
            return encodeValue(schema, await load());
          },
          (value) => {
            if (cells !== undefined) cells.fills.value++;
            store(key, value, ttl);
          },
        ),
        loadOptions.signal,
      );
      return decodeValue(schema, loaded);
    },

    async invalidate(key) {
      remove(key);
      flights.forget(key);
    },

    stats: () => ({ entries: entries.size, bytes }),

    async close() {
      closed = true;
      entries.clear();
      bytes = 0;
      flights.forgetAll();
    },
  };
}
