import type { Redis } from "ioredis";

/** A Lua script bound to one connection: `run(keys, args)` sends EVALSHA (EVAL once if Redis lacks it). */
export type RedisScript = (keys: readonly string[], args: ReadonlyArray<string | number | Buffer>) => Promise<unknown>;

/**
 * Registers `lua` on `redis` under `name` (namespace it, e.g. `weftInventoryReserve`: the connection may
 * be shared by several stores). Every key the script touches must be passed in `keys`.
 */
export function defineScript(redis: Redis, name: string, lua: string, numberOfKeys: number): RedisScript {
  redis.defineCommand(name, { lua, numberOfKeys });
  const command = (redis as unknown as Record<string, (...args: Array<string | number | Buffer>) => Promise<unknown>>)[name];
  return (keys, args) => {
    if (keys.length !== numberOfKeys) throw new RangeError(`script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
    return command.call(redis, ...keys, ...args);
  };
}
