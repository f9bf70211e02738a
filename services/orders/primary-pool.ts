// A `pg` pool that follows the PostgreSQL primary among several hosts. `pg` takes one host per pool, so
// DATABASE_URL may list several (libpq's `postgres://h1:5432,h2:5433/db`): they are tried in order and the
// first that is not in recovery (a standby) gets the pool. A connection lost, a server shut down or a
// write refused as read-only (a demoted primary) drops that pool, and the next call looks again: the
// failed call is UNAVAILABLE, so callers retry, and PlaceOrder recovers once a standby is promoted.

import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { sqlToConnectError } from "./sql-errors.ts";

/** Options of {@link createPrimaryPool}. */
export interface PrimaryPoolOptions {
  /** One connection string per host, in the order to try them. Required, at least one. */
  readonly hostUrls: readonly string[];
  /** `pg.Pool` settings besides the connection string (max, timeouts). */
  readonly pool: Omit<pg.PoolConfig, "connectionString">;
  /** After no host answered as a primary, calls fail UNAVAILABLE at once for this long, in ms. Default 250. */
  readonly retryAfterMs?: number;
  /** Errors of pooled connections (the server went away). Default: nothing. */
  readonly onError?: (err: unknown) => void;
}

/** The pool of the current primary, found on demand. */
export interface PrimaryPool {
  /** The primary's pool; looks for the primary first if there is none (UNAVAILABLE when no host is one). */
  current(): Promise<pg.Pool>;
  /** Reports `err` from `pool`: a lost or read-only primary drops that pool, so the next call looks again. */
  failed(pool: pg.Pool, err: unknown): void;
  /** Ends the current pool. */
  end(): Promise<void>;
}

/** SQLSTATE of a write on a server in recovery or a read-only transaction (a standby, a demoted primary). */
const READ_ONLY_SQL_TRANSACTION = "25006";
/** Too many connections: the server is alive and still the primary, so its pool stays. */
const TOO_MANY_CONNECTIONS = "53300";

/** Splits a libpq multi-host URL (`postgres://u@h1:1,h2:2/db?x=y`) into one URL per host; one host gives itself. */
export function splitPostgresHosts(url: string): string[] {
  const match = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/.exec(url);
  if (match === null) return [url];
  const [, scheme, auth = "", hosts, rest] = match;
  // pg ignores libpq's target_session_attrs: following the primary is what the pool does with several hosts.
  const query = rest!.replace(/([?&])target_session_attrs=[^&]*&?/, "$1").replace(/[?&]$/, "");
  return hosts!.split(",").map((host) => `${scheme}${auth}${host.trim()}${query}`);
}

export function createPrimaryPool(options: PrimaryPoolOptions): PrimaryPool {
  if (!options.hostUrls?.length) throw new TypeError("options.hostUrls must list at least one PostgreSQL URL");
  const retryAfterMs = options.retryAfterMs ?? 250;
  let pool: pg.Pool | undefined;
  let finding: Promise<pg.Pool> | undefined;
  let failedAt = -Infinity;
  let ended = false;

  /** True when `url` answers and is not in recovery; false for a standby or a host that does not answer. */
  async function isPrimary(url: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.pool.connectionTimeoutMillis });
    client.on("error", () => {}); // a host that dies during the check is just not the primary
    try {
      await client.connect();
      const { rows } = await client.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby");
      return rows[0]?.standby === false;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async function find(): Promise<pg.Pool> {
    for (const url of options.hostUrls) {
      if (ended) break;
      if (options.hostUrls.length > 1 && !(await isPrimary(url))) continue;
      const found = new pg.Pool({ ...options.pool, connectionString: url });
      // Without a listener an idle connection's error (server gone) would crash the process.
      found.on("error", (err) => {
        options.onError?.(err);
        drop(found, err);
      });
      pool = found;
      return found;
    }
    failedAt = performance.now();
    throw new ConnectError("order store unavailable", Code.Unavailable);
  }

  function drop(which: pg.Pool, err: unknown): void {
    if (which !== pool) return;
    const code = (err as { code?: unknown })?.code;
    if (code === TOO_MANY_CONNECTIONS) return;
    if (code !== READ_ONLY_SQL_TRANSACTION && sqlToConnectError(err).code !== Code.Unavailable) return;
    pool = undefined;
    // Calls holding its connections finish (and fail) on their own; new calls get the next primary.
    which.end().catch(() => {});
  }

  return {
    current() {
      if (ended) return Promise.reject(new ConnectError("order store unavailable", Code.Unavailable));
      if (pool !== undefined) return Promise.resolve(pool);
      if (finding !== undefined) return finding;
      if (performance.now() - failedAt < retryAfterMs) return Promise.reject(new ConnectError("order store unavailable", Code.Unavailable));
      finding = find().finally(() => (finding = undefined));
      return finding;
    },
    failed: drop,
    async end() {
      ended = true;
      await finding?.catch(() => {});
      const last = pool;
      pool = undefined;
      await last?.end();
    },
  };
}
