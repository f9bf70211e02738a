import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

/** Options for one read-through lookup. */
export interface CacheLoadOptions {
  /** Time to live for a loaded value; jitter is added by the cache. Default: the cache's ttlMs. */
  readonly ttlMs?: number;
  /** Aborts the wait (the shared load itself continues for other waiters). */
  readonly signal?: AbortSignal;
}

/**
 * A typed read-through cache of Protobuf messages. The in-memory cache and the Redis cache implement the
 * same interface; when the backing store fails, `getOrLoad` falls through to `load`.
 */
export interface Cache {
  /** Returns the cached value for `key`, or runs `load` once per key (however many callers miss together). */
  getOrLoad<Desc extends DescMessage>(
    schema: Desc,
    key: string,
    load: () => Promise<MessageShape<Desc>>,
    options?: CacheLoadOptions,
  ): Promise<MessageShape<Desc>>;
  /** Removes `key` (and, for a shared cache, from every replica's view). */
  invalidate(key: string): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
