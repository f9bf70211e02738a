import { Code, ConnectError } from "@connectrpc/connect";

/** A Redis call that took longer than the cache's `commandTimeoutMs`. */
export class RedisTimeoutError extends Error {
  override name = "RedisTimeoutError";
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/** The breaker is open: Redis is skipped until the next probe. */
export class RedisBypassedError extends Error {
  override name = "RedisBypassedError";
  constructor() {
    super("Redis is bypassed while the circuit breaker is open");
  }
}

/** Rejects with RedisTimeoutError if `promise` has not settled after `timeoutMs`; clears its timer either way. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The one place Redis failures become Connect codes (only `invalidate` surfaces them: reads fall back
 * to the source). Unreachable, slow or bypassed Redis is Unavailable, so an event-driven invalidation
 * is retried by the event bus; anything else is Internal. The original is kept as `cause`.
 */
export function redisToConnectError(err: unknown, operation: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const fail = (code: Code, what: string) => new ConnectError(`${operation}: ${what}`, code, undefined, undefined, err);
  if (err instanceof RedisTimeoutError) return fail(Code.Unavailable, "cache store is slow");
  if (err instanceof RedisBypassedError) return fail(Code.Unavailable, "cache store is unavailable");
  const message = err instanceof Error ? err.message : "";
  const code = (err as { code?: unknown } | null)?.code;
  if (
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|max retries|LOADING|MASTERDOWN|READONLY/i.test(
      message,
    ) ||
    code === "ECONNREFUSED" ||
    code === "ECONNRESET"
  ) {
    return fail(Code.Unavailable, "cache store is unavailable");
  }
  if (/OOM/.test(message)) return fail(Code.ResourceExhausted, "cache store is full");
  return fail(Code.Internal, "cache store request failed");
}
