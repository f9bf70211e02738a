// Opening the process's Redis connection from REDIS_URL: one server (redis://, rediss://) or a Sentinel
// group (redis-sentinel://), whose current primary ioredis asks the sentinels for and follows on failover.

import type { Redis, RedisOptions } from "ioredis";
import { redisClientOptions } from "./options.ts";

/** Where a `redis-sentinel://` URL points: the sentinels to ask and the name they monitor the primary under. */
export interface RedisSentinelTarget {
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly name: string;
  /** Credentials of the Redis nodes (not of the sentinels), when the URL has them. */
  readonly username?: string;
  readonly password?: string;
}

/** Port of a sentinel given without one. */
const SENTINEL_DEFAULT_PORT = 26379;
// redis-sentinel://[user[:password]@]host[:port][,host[:port]...]/name
const SENTINEL_URL = /^redis-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([A-Za-z0-9._-]+)\/?$/;
const HOST_PORT = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/**
 * Reads a `redis-sentinel://` URL (`redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster`); returns
 * undefined for any other scheme and throws a TypeError naming the malformed part (never the credentials).
 */
export function parseRedisSentinelUrl(value: string): RedisSentinelTarget | undefined {
  if (!value.startsWith("redis-sentinel:")) return undefined;
  const match = SENTINEL_URL.exec(value);
  if (match === null) throw new TypeError("a redis-sentinel URL is redis-sentinel://host:port[,host:port...]/name");
  const [, username, password, hosts, name] = match;
  const sentinels = hosts!.split(",").map((part) => {
    const hostPort = HOST_PORT.exec(part.trim());
    const port = Number(hostPort?.[2] ?? SENTINEL_DEFAULT_PORT);
    if (hostPort === null || port < 1 || port > 65_535) throw new TypeError("a redis-sentinel URL lists sentinels as host:port separated by commas");
    return { host: hostPort[1]!.replace(/^\[|\]$/g, ""), port };
  });
  return {
    sentinels,
    name: name!,
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}

/** True for the URLs {@link openRedis} accepts: redis://, rediss:// with a host, or a well-formed redis-sentinel://. */
export function isRedisUrl(value: string): boolean {
  try {
    if (parseRedisSentinelUrl(value) !== undefined) return true;
    const url = new URL(value);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/**
 * What a Sentinel connection adds to `redisClientOptions`: sentinels asked with a bounded, backing-off pace
 * like the nodes. ioredis's `failoverDetector` stays off (its default, redis/ioredis#1363): in the failover
 * drill it once left the connection never reconnecting; a crashed primary closes its sockets anyway.
 */
export const redisSentinelOptions: Readonly<RedisOptions> = Object.freeze({
  failoverDetector: false,
  sentinelCommandTimeout: 1_000,
  sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
});

/**
 * A new ioredis connection for `url` (see {@link isRedisUrl}), with `options` (default
 * `redisClientOptions`); a Sentinel URL adds {@link redisSentinelOptions}. ioredis is loaded here, so a
 * process without Redis never pays for it. Await `waitForRedisReady` before use.
 */
export async function openRedis(url: string, options: RedisOptions = redisClientOptions): Promise<Redis> {
  const { Redis } = await import("ioredis");
  const sentinel = parseRedisSentinelUrl(url);
  if (sentinel === undefined) return new Redis(url, options);
  return new Redis({ ...options, ...redisSentinelOptions, sentinels: [...sentinel.sentinels], name: sentinel.name, username: sentinel.username, password: sentinel.password });
}
