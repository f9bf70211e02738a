import { Code, ConnectError } from "@connectrpc/connect";
import type { RedisOptions } from "ioredis";

/**
 * The one place where failures of the shop's Redis-backed stores (stock ledger, user directory,
 * order book) become Connect codes. Redis unreachable, closed, slow, loading or read-only is
 * UNAVAILABLE (a caller may retry, or another replica may serve it); out of memory is
 * RESOURCE_EXHAUSTED; anything else is INTERNAL. The message names the store and never carries Redis's
 * own text (addresses, keys, script errors): the original error is kept only as `cause`.
 */
export function redisStoreError(err: unknown, store: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const fail = (code: Code, what: string) => new ConnectError(`${store} ${what}`, code, undefined, undefined, err);
  const message = err instanceof Error ? err.message : "";
  const code = (err as { code?: unknown } | null)?.code;
  if (
    /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|max retries|LOADING|MASTERDOWN|READONLY|BUSY/i.test(
      message,
    ) ||
    (typeof code === "string" && /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH)$/.test(code))
  ) {
    return fail(Code.Unavailable, "is unavailable");
  }
  if (/^OOM/.test(message)) return fail(Code.ResourceExhausted, "is full");
  return fail(Code.Internal, "request failed");
}

/** Runs one store operation, translating whatever Redis throws with {@link redisStoreError}. */
export async function storeCall<T>(store: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw redisStoreError(err, store);
  }
}

/**
 * ioredis options for a store connection (pass them to `new Redis(url, redisStoreClientOptions)`):
 * - no offline queue and one retry per command, so a call fails fast with UNAVAILABLE while Redis is
 *   away instead of waiting for the caller's deadline;
 * - `autoResendUnfulfilledCommands: false`: a command that was written before the connection dropped
 *   is not sent again on reconnect (Restock is not idempotent; the idempotent operations are retried by
 *   the mesh client instead, which knows the method's idempotency level);
 * - a command timeout, so a stalled Redis does not hold handlers forever.
 * Wait for the connection's "ready" event before serving (commands before it fail at once).
 */
export const redisStoreClientOptions: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 2_000,
  connectTimeout: 1_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
};

/** Throws unless `keyPrefix` is a non-empty string; every store's options take one. */
export function requireKeyPrefix(keyPrefix: unknown): string {
  if (typeof keyPrefix !== "string" || keyPrefix === "") {
    throw new TypeError('options.keyPrefix must be a non-empty string, e.g. "weft:inventory:"');
  }
  return keyPrefix;
}
