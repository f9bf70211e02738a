import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { context, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { SpanAttributes } from "../telemetry/index.ts";
import { CacheOptionsError, raceAbort } from "../errors/index.ts";
import type { Cache, CacheLoadOptions } from "./cache.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import type { BreakerState } from "./circuit-breaker.ts";
import { RedisBypassedError, redisToConnectError, withTimeout } from "../redis/index.ts";
import { SingleFlight } from "./single-flight.ts";
import { decodeValue, encodeValue } from "./value-codec.ts";
import { jitteredTtlMs, parseTtlOptions } from "./ttl.ts";
import type { Metrics } from "../telemetry/index.ts";
import { redactText } from "../engine/index.ts";

/** Options for `createRedisCache`. */
export interface RedisCacheOptions {
  /** The Redis connection (the caller owns it; see mesh/redis `redisClientOptions`). Required. */
  readonly redis: Redis;
  /** Prefix of every key and of the invalidation channel, e.g. `"weft:catalog:"`. Required. */
  readonly keyPrefix: string;
  /** Time to live of a loaded value. Default 30,000. */
  readonly ttlMs?: number;
  /** Each TTL is stretched by a random fraction up to this. Default 0.1. */
  readonly ttlJitter?: number;
  /** A Redis call slower than this counts as a failure and the caller goes to the source. Default 100. */
  readonly commandTimeoutMs?: number;
  /** Consecutive Redis failures that open the breaker (Redis is then skipped). Default 3. */
  readonly breakerFailureThreshold?: number;
  /** How long the breaker stays open before one call probes Redis again. Default 1,000. */
  readonly breakerOpenMs?: number;
  /**
   * Also keep values in process for this long (0: off). Invalidations reach every replica's copy over
   * Redis pub/sub; if that connection drops the copies are cleared on reconnect. Default 0.
   */
  readonly localTtlMs?: number;
  /** Most values kept in process. Default 10,000. */
  readonly localMaxEntries?: number;
  /** Where hits, misses, fills and bypasses are counted (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
  /** The `cache` label of those metrics. Default: `keyPrefix`. */
  readonly metricsName?: string;
  /** Told when the breaker opens, half-opens or closes. */
  readonly onBreakerChange?: (state: BreakerState) => void;
  /** Records a span per `getOrLoad` (result: hit, miss, join, bypass; a child span for the fill). Default none. */
  readonly tracer?: Tracer;
}

/** A version key outlives any load that read it, so a slow load cannot store over an invalidation. */
const VERSION_TTL_MS = 600_000;

// Stores the loaded value only if the key's version is the one read before loading.
// KEYS: data, version. ARGV: value, version read, ttl ms.
const STORE_IF_CURRENT = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`;

interface Loaded {
  readonly bytes: Uint8Array;
  /** The key's version when it was read from Redis; undefined when Redis was skipped. */
  readonly version: string | undefined;
  readonly fromSource: boolean;
}

interface LocalEntry {
  readonly bytes: Uint8Array;
  readonly expiresAt: number;
}

function parseOptions(o: RedisCacheOptions) {
  if (!o.redis) throw new CacheOptionsError("options.redis must be an ioredis connection");
  if (!o.keyPrefix) throw new CacheOptionsError("options.keyPrefix must be set, e.g. \"weft:catalog:\"");
  const parsed = {
    ...parseTtlOptions(o),
    commandTimeoutMs: o.commandTimeoutMs ?? 100,
    breakerFailureThreshold: o.breakerFailureThreshold ?? 3,
    breakerOpenMs: o.breakerOpenMs ?? 1_000,
    localTtlMs: o.localTtlMs ?? 0,
    localMaxEntries: o.localMaxEntries ?? 10_000,
  };
  if (!(parsed.commandTimeoutMs > 0)) throw new CacheOptionsError("options.commandTimeoutMs must be a positive number");
  if (!Number.isInteger(parsed.breakerFailureThreshold) || parsed.breakerFailureThreshold < 1) {
    throw new CacheOptionsError("options.breakerFailureThreshold must be a positive integer");
  }
  if (!(parsed.breakerOpenMs > 0)) throw new CacheOptionsError("options.breakerOpenMs must be a positive number");
  if (!(parsed.localTtlMs >= 0)) throw new CacheOptionsError("options.localTtlMs must be a non-negative number");
  if (!Number.isInteger(parsed.localMaxEntries) || parsed.localMaxEntries < 1) {
    throw new CacheOptionsError("options.localMaxEntries must be a positive integer");
  }
  return parsed;
}

/**
 * A read-through cache of binary Protobuf values in Redis, shared by a service's replicas. Concurrent
 * misses for a key in one process share one Redis read and one load; a value is stored only if the
 * key was not invalidated while it loaded (a version check in Redis), so after `invalidate()` resolves
 * no replica reads the old value from Redis. When Redis is slow or down, calls time out after
 * `commandTimeoutMs`, the breaker opens, and `getOrLoad` serves straight from the source until a probe
 * finds Redis back.
 */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const o = parseOptions(options);
  const { redis, keyPrefix } = options;
  const breaker = new CircuitBreaker({
    failureThreshold: o.breakerFailureThreshold,
    openMs: o.breakerOpenMs,
    onStateChange: options.onBreakerChange,
  });
  const flights = new SingleFlight<Loaded>();
  const local = new Map<string, LocalEntry>();
  const channel = `${keyPrefix}invalidate`;
  // A key's value and version share a Cluster slot (hash tag on the key): one script and one MGET read both.
  const dataKey = (key: string) => `${keyPrefix}v:{${key}}`;
  const versionKey = (key: string) => `${keyPrefix}ver:{${key}}`;
  let closed = false;
  const cells = options.metrics?.cache(options.metricsName ?? keyPrefix);

  /** Runs one Redis call through the breaker and the timeout; undefined when skipped or failed. */
  async function guarded<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (!breaker.allow()) return undefined;
    try {
      const result = await withTimeout(call(), o.commandTimeoutMs);
      breaker.success();
      return result;
    } catch {
      breaker.failure();
      return undefined;
    }
  }

  function forgetLocal(key: string): void {
    local.delete(key);
    flights.forget(key);
  }

  let subscriber: Redis | undefined;
  if (o.localTtlMs > 0) {
    subscriber = redis.duplicate();
    let readyBefore = false;
    subscriber.on("ready", () => {
      // Invalidations may have been missed while disconnected: start the local copies afresh.
      if (readyBefore) local.clear();
      readyBefore = true;
      subscriber!.subscribe(channel).catch(() => {});
    });
    subscriber.on("message", (_channel: string, key: string) => forgetLocal(key));
    subscriber.on("error", () => {}); // reconnects by itself; reads never depend on it
  }

  async function readOrLoad<T>(key: string, load: () => Promise<T>, encode: (value: T) => Uint8Array): Promise<Loaded> {
    const read = await guarded(() => redis.mgetBuffer(dataKey(key), versionKey(key)));
    if (read?.[0]) {
      if (cells !== undefined) cells.hitsShared.value++;
      return { bytes: read[0], version: undefined, fromSource: false };
    }
    if (cells !== undefined) (read === undefined ? cells.bypasses : cells.misses).value++;
    const version = read ? (read[1]?.toString() ?? "0") : undefined;
    return { bytes: encode(await load()), version, fromSource: true };
  }

  async function store(key: string, loaded: Loaded, ttlMs: number): Promise<void> {
    if (o.localTtlMs > 0) {
      local.set(key, { bytes: loaded.bytes, expiresAt: performance.now() + Math.min(o.localTtlMs, ttlMs) });
      if (local.size > o.localMaxEntries) local.delete(local.keys().next().value!);
    }
    if (loaded.fromSource && loaded.version !== undefined) {
      const bytes = Buffer.from(loaded.bytes.buffer, loaded.bytes.byteOffset, loaded.bytes.byteLength);
      const stored = await guarded(() => redis.eval(STORE_IF_CURRENT, 2, dataKey(key), versionKey(key), bytes, loaded.version!, ttlMs));
      if (stored === 1 && cells !== undefined) cells.fills.value++;
    }
  }

  return {
    async getOrLoad(schema, key, load, loadOptions: CacheLoadOptions = {}) {
      if (closed) throw new ConnectError("cache is closed", Code.Unavailable);
      if (o.localTtlMs > 0) {
        const entry = local.get(key);
        if (entry && entry.expiresAt > performance.now()) {
          if (cells !== undefined) cells.hitsLocal.value++;
          return decodeValue(schema, entry.bytes);
        }
        if (entry) local.delete(key);
      }
      const ttlMs = jitteredTtlMs(loadOptions.ttlMs ?? o.ttlMs, o.ttlJitter);
      const run = (fill: typeof load) =>
        raceAbort(
          flights.do(
            key,
            () => readOrLoad(key, fill, (value) => encodeValue(schema, value)),
            (value) => store(key, value, ttlMs),
          ),
          loadOptions.signal,
        );
      const tracer = options.tracer;
      if (tracer === undefined) return decodeValue(schema, (await run(load)).bytes);
      const joining = flights.has(key);
      const span = tracer.startSpan(`cache get ${schema.typeName}`, { kind: SpanKind.CLIENT, attributes: { [SpanAttributes.dbSystem]: "redis" } });
      const spanContext = trace.setSpan(context.active(), span);
      // The fill gets a span of its own (it is the source's time, not the cache's).
      const fill = () => {
        const fillSpan = tracer.startSpan(`cache fill ${schema.typeName}`, undefined, spanContext);
        return context.with(trace.setSpan(spanContext, fillSpan), load).finally(() => fillSpan.end());
      };
      try {
        const loaded = await context.with(spanContext, run, undefined, fill);
        span.setAttribute(SpanAttributes.weftCacheResult, joining ? "join" : !loaded.fromSource ? "hit" : loaded.version === undefined ? "bypass" : "miss");
        return decodeValue(schema, loaded.bytes);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof ConnectError ? redactText(err.rawMessage) : "load failed" });
        throw err;
      } finally {
        span.end();
      }
    },

    async invalidate(key) {
      forgetLocal(key);
      if (closed) return;
      if (!breaker.allow()) throw redisToConnectError(new RedisBypassedError(), "cache invalidate");
      try {
        const results = await withTimeout(
          redis
            .multi()
            .incr(versionKey(key))
            .pexpire(versionKey(key), VERSION_TTL_MS)
            .del(dataKey(key))
            .publish(channel, key)
            .exec(),
          o.commandTimeoutMs,
        );
        const failed = results?.find(([err]) => err);
        if (!results || failed) throw failed?.[0] ?? new Error("transaction aborted");
        breaker.success();
      } catch (err) {
        breaker.failure();
        throw redisToConnectError(err, "cache invalidate");
      }
    },

    async close() {
      closed = true;
      local.clear();
      flights.forgetAll();
      subscriber?.disconnect();
    },
  };
}
