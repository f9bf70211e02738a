import type { DescMessage } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import { EventsOptionsError } from "../errors/index.ts";
import type { EventHandler } from "./event-bus.ts";

/** One Redis command as its name and arguments, e.g. `["HINCRBY", "stock:p1", "reserved", 2]`. */
export type RedisCommand = readonly [string, ...Array<string | number>];

/** Options for `createIdempotencyStore`. */
export interface IdempotencyOptions {
  /** The Redis connection (the caller owns it). */
  readonly redis: Redis;
  /** Prefix of the processed-id keys; include the consumer's name, e.g. `"weft:processed:fulfillment:"`. */
  readonly keyPrefix: string;
  /**
   * How long a processed id is remembered. Must outlast the redelivery window (ack wait × max
   * deliveries plus backoff) and the stream's duplicate window. Default 86,400,000 (24 hours).
   */
  readonly ttlMs?: number;
}

/** Remembers which events a consumer has processed, so a redelivered event does not repeat its effect. */
export interface IdempotencyStore {
  /**
   * Wraps a handler: an id already processed is skipped (and so acked); otherwise the handler runs and
   * the id is marked after it succeeds. A crash between the handler's effect and the mark can still
   * repeat the effect; for exactly-once effects in Redis use `applyOnce`.
   */
  wrap<Desc extends DescMessage>(handler: EventHandler<Desc>): EventHandler<Desc>;
  /**
   * Runs `commands` and marks `id` processed in one atomic Lua script, unless `id` is already marked.
   * Returns true when applied, false for a repeat. (Standalone Redis: the commands' keys are not
   * declared to the script, so it is not for Redis Cluster.)
   */
  applyOnce(id: string, commands: readonly RedisCommand[]): Promise<boolean>;
  /** Whether `id` is marked processed. */
  isProcessed(id: string): Promise<boolean>;
}

// KEYS[1]: the mark. ARGV[1]: ttl ms; ARGV[2]: command count; then per command its argc and args.
const APPLY_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local i = 3
for _ = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + 1 + n
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
`;

/** Creates the processed-id store for one consumer. */
export function createIdempotencyStore(options: IdempotencyOptions): IdempotencyStore {
  const { redis, keyPrefix } = options;
  const ttlMs = options.ttlMs ?? 86_400_000;
  if (!keyPrefix) throw new EventsOptionsError("options.keyPrefix must be set (include the consumer's name)");
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new EventsOptionsError("options.ttlMs must be a positive integer");
  const key = (id: string) => `${keyPrefix}${id}`;

  return {
    wrap(handler) {
      return async (event, meta) => {
        if ((await redis.exists(key(meta.id))) === 1) return;
        await handler(event, meta);
        await redis.set(key(meta.id), "1", "PX", ttlMs);
      };
    },

    async applyOnce(id, commands) {
      const args: Array<string | number> = [ttlMs, commands.length];
      for (const command of commands) args.push(command.length, ...command);
      return (await redis.eval(APPLY_ONCE, 1, key(id), ...args)) === 1;
    },

    async isProcessed(id) {
      return (await redis.exists(key(id))) === 1;
    },
  };
}
