// The one place Redis failures become Connect codes, for every Redis user of the runtime and the
// services (cache, stores, rate limits). The caller sees what failed, never Redis's own text.

import { Code, ConnectError } from "@connectrpc/connect";

/** A Redis call that took longer than its caller's time bound. */
export class RedisTimeoutError extends Error {
  override name = "RedisTimeoutError";
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/** Redis was skipped on purpose (a circuit breaker is open). */
export class RedisBypassedError extends Error {
  override name = "RedisBypassedError";
  constructor() {
    super("Redis is bypassed while the circuit breaker is open");
  }
}

/**
 * Rejects with RedisTimeoutError if `promise` has not settled after `timeoutMs`; clears its timer either
 * way. The rejection waits for the next I/O phase (setImmediate): after a stall of this process's event
 * loop the timer and a reply that arrived meanwhile are due together, Node runs expired timers before it
 * reads sockets, and a slow loop must not turn a Redis that answered in time into a timeout.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => setImmediate(() => reject(new RedisTimeoutError(timeoutMs))), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Redis unreachable, closed, slow, loading, read-only or busy: another replica or a retry may succeed.
const UNAVAILABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|max retries|LOADING|MASTERDOWN|READONLY|BUSY/i;
const UNAVAILABLE_SYSCALL = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH)$/;

/**
 * Translates a Redis failure of `subject` (e.g. "stock ledger", "cache invalidate") to a ConnectError:
 * unreachable, slow, bypassed, loading or read-only Redis is UNAVAILABLE (a caller may retry, or an
 * event bus redeliver); out of memory is RESOURCE_EXHAUSTED; anything else is INTERNAL. The message is
 * `<subject> is unavailable|is full|request failed`; the original is kept only as `cause`.
 */
export function redisToConnectError(err: unknown, subject: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const fail = (code: Code, what: string) => new ConnectError(`${subject} ${what}`, code, undefined, undefined, err);
  if (err instanceof RedisTimeoutError || err instanceof RedisBypassedError) return fail(Code.Unavailable, "is unavailable");
  const message = err instanceof Error ? err.message : "";
  const code = (err as { code?: unknown } | null)?.code;
  if (UNAVAILABLE_MESSAGE.test(message) || (typeof code === "string" && UNAVAILABLE_SYSCALL.test(code))) {
    return fail(Code.Unavailable, "is unavailable");
  }
  if (/^OOM/.test(message)) return fail(Code.ResourceExhausted, "is full");
  return fail(Code.Internal, "request failed");
}

/** Runs one Redis operation of `subject`, translating whatever Redis throws with {@link redisToConnectError}. */
export async function redisCall<T>(subject: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw redisToConnectError(err, subject);
  }
}
