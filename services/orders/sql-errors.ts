import { Code, ConnectError } from "@connectrpc/connect";

// The one place database errors become Connect codes. Messages name what failed, never the SQL text,
// the constraint or the server's words; the original stays as `cause` for logs.

/** SQLSTATEs (PostgreSQL appendix A) that the translation distinguishes. */
const UNIQUE_VIOLATION = "23505";
const SERIALIZATION_FAILURE = "40001";
const DEADLOCK_DETECTED = "40P01";
/**
 * Class 08 (connection exception), 57P01-03 (shutdown, crash, cannot connect now), 53300 (too many
 * connections), 25006 (read-only: a standby or a demoted primary, another host is the primary now).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300|25006)$/;
/** Node socket errors of a lost or refused connection. */
const SOCKET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
/** Messages of `pg` when it lost its connection or could not get one (it sets no code). */
const DRIVER_CONNECTION_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|not queryable/i;

/** What the caller sees for each kind of failure. */
const MESSAGES = {
  exists: "order store: already exists",
  aborted: "order store: transaction conflict, try again",
  unavailable: "order store unavailable",
  internal: "order store failed",
} as const;

/** Translates anything a database driver threw into a ConnectError (a ConnectError passes through). */
export function sqlToConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const code = typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : "";
  const message = err instanceof Error ? err.message : "";
  if (code === UNIQUE_VIOLATION) return new ConnectError(MESSAGES.exists, Code.AlreadyExists, undefined, undefined, err);
  if (code === SERIALIZATION_FAILURE || code === DEADLOCK_DETECTED) return new ConnectError(MESSAGES.aborted, Code.Aborted, undefined, undefined, err);
  if (UNAVAILABLE_STATES.test(code) || SOCKET_ERRORS.has(code) || DRIVER_CONNECTION_MESSAGE.test(message)) {
    return new ConnectError(MESSAGES.unavailable, Code.Unavailable, undefined, undefined, err);
  }
  return new ConnectError(MESSAGES.internal, Code.Internal, undefined, undefined, err);
}

/** Runs one database operation, translating whatever it throws with {@link sqlToConnectError}. */
export async function withSqlErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw sqlToConnectError(err);
  }
}

/** Attempts of a transaction that keeps losing to concurrent ones before ABORTED reaches the caller. */
export const MAX_TRANSACTION_ATTEMPTS = 4;
/** First pause before retrying an aborted transaction; doubles per attempt, with jitter. */
const RETRY_BASE_DELAY_MS = 5;

/**
 * Runs `transaction` again (at most {@link MAX_TRANSACTION_ATTEMPTS} times in all) while it fails ABORTED
 * (serialization failure, deadlock): the database rolled it back, so running it again is safe.
 */
export async function retryAborted<T>(transaction: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      const translated = sqlToConnectError(err);
      if (translated.code !== Code.Aborted || attempt >= MAX_TRANSACTION_ATTEMPTS || signal?.aborted) throw translated;
      const delayMs = RETRY_BASE_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
