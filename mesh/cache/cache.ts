import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";

/** Options for one read-through lookup. */
export interface CacheLoadOptions {
  /** Time to live for a loaded value; jitter is added by the cache. Default: the cache's ttlMs. */
  readonly ttlMs?: number;
  /** Aborts the wait (the shared load itself continues for other waiters). */
  readonly signal?: AbortSignal;
}

/**
 * Load options for a lookup made while handling a call: the call's signal is read only when the lookup
 * waits, so a hit never makes a lazy handler context build its AbortSignal.
 */
export function callLoadOptions(context: Pick<HandlerContext, "signal">, ttlMs?: number): CacheLoadOptions {
  return new CallLoadOptions(context, ttlMs);
}

// A class rather than an object literal with a getter: V8 builds a literal's accessor on every call.
class CallLoadOptions implements CacheLoadOptions {
  readonly ttlMs: number | undefined;
  readonly #context: Pick<HandlerContext, "signal">;

  constructor(context: Pick<HandlerContext, "signal">, ttlMs: number | undefined) {
    this.#context = context;
    this.ttlMs = ttlMs;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }
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
