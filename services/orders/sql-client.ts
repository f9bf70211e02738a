import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { OrdersDatabaseError } from "../shared/index.ts";
import { createPgliteInMemory, PGLITE_SETTINGS } from "./pglite-template.ts";
import { createPrimaryPool, splitPostgresHosts } from "./primary-pool.ts";
import { withSqlErrors } from "./sql-errors.ts";

/** Something that runs one parameterised statement: the client itself, or an open transaction. */
export interface SqlQueryable {
  /** Runs `text` with `$1..$n` bound to `params`; returns the rows. */
  query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]>;
}

/**
 * The orders database: PostgreSQL through a `pg` pool, or PGlite in this process. One schema and one set
 * of queries serve both. Every failure surfaces as a ConnectError (sql-errors.ts).
 */
export interface SqlClient extends SqlQueryable {
  /** Runs `work` in one transaction (READ COMMITTED), committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Closes the pool or the embedded database. */
  close(): Promise<void>;
}

/** Options of {@link createPostgresClient}. */
export interface PostgresClientOptions {
  /**
   * e.g. `postgres://postgres@127.0.0.1:5432/weft`. Required. Several hosts (`postgres://u@h1:5432,h2:5433/db`)
   * are tried in order and the pool goes to the first that is not a standby, again after a failover.
   */
  readonly connectionString: string;
  /** Most connections in the pool. Default 10. */
  readonly maxConnections?: number;
  /** Wait for a new connection before failing UNAVAILABLE, in ms. Default 5,000. */
  readonly connectTimeoutMs?: number;
  /** A statement running longer is cancelled by the server, in ms. Default 10,000. */
  readonly statementTimeoutMs?: number;
  /** Errors of idle pooled connections (the server went away); the pool replaces them. Default: nothing. */
  readonly onError?: (err: unknown) => void;
}

/** A pooled PostgreSQL client (the `pg` driver) that follows the primary among the URL's hosts. */
export function createPostgresClient(options: PostgresClientOptions): SqlClient {
  if (!options?.connectionString) throw new TypeError("options.connectionString must be a PostgreSQL URL");
  const primary = createPrimaryPool({
    hostUrls: splitPostgresHosts(options.connectionString),
    pool: {
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
    },
    onError: options.onError,
  });
  /** Runs `operation` on the primary's pool; a failure that says the primary is gone makes the next call look again. */
  const onPrimary = async <T>(operation: (pool: pg.Pool) => Promise<T>): Promise<T> => {
    const pool = await primary.current();
    try {
      return await operation(pool);
    } catch (err) {
      primary.failed(pool, (err as { cause?: unknown })?.cause ?? err);
      throw err;
    }
  };
  const on = (runner: pg.Pool | pg.PoolClient): SqlQueryable => ({
    query: <Row>(text: string, params: readonly unknown[] = []) =>
      withSqlErrors(async () => (await runner.query(text, params as unknown[])).rows as Row[]),
  });
  return {
    query: <Row>(text: string, params?: readonly unknown[]) => onPrimary((pool) => on(pool).query<Row>(text, params)),
    transaction: (work) => onPrimary(async (pool) => {
      const client = await withSqlErrors(() => pool.connect());
      let broken: Error | undefined;
      // The pool listens for errors only on idle connections: one lost between two statements of this
      // transaction (the relay awaiting JetStream) would be an uncaught exception without this listener.
      const lost = (err: Error) => {
        broken = err;
        options.onError?.(err);
      };
      client.on("error", lost);
      try {
        await withSqlErrors(() => client.query("BEGIN"));
        const result = await work(on(client));
        await withSqlErrors(() => client.query("COMMIT"));
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => (broken = rollbackError));
        throw err;
      } finally {
        // A connection that was lost, or whose rollback failed, is destroyed rather than reused.
        client.removeListener("error", lost);
        client.release(broken);
      }
    }),
    close: () => primary.end(),
  };
}

/** Options of {@link createPgliteClient}. */
export interface PgliteClientOptions {
  /** Directory of the database files. Default: in memory (gone when the process ends). */
  readonly dataDir?: string;
  /** In memory: the saved fresh data directory to start from (pglite-template.ts). Default: under the temporary directory. */
  readonly templatePath?: string;
}

/** PostgreSQL in this process (PGlite): one connection, so transactions run one at a time. */
export async function createPgliteClient(options: PgliteClientOptions = {}): Promise<SqlClient> {
  const db = options.dataDir === undefined ? await createPgliteInMemory(options.templatePath) : await PGlite.create(options.dataDir, { postgresqlconf: [...PGLITE_SETTINGS] });
  const on = (runner: Pick<PGlite, "query">): SqlQueryable => ({
    query: <Row>(text: string, params: readonly unknown[] = []) =>
      withSqlErrors(async () => (await runner.query<Row>(text, params as unknown[])).rows),
  });
  return {
    ...on(db),
    transaction: (work) => withSqlErrors(() => db.transaction((tx) => work(on(tx)))),
    close: () => db.close(),
  };
}

/** Options of {@link openOrdersDatabase}. */
export interface OpenOrdersDatabaseOptions {
  /** PostgreSQL URL (`DATABASE_URL`). Default: PGlite. */
  readonly databaseUrl?: string;
  /** PGlite's directory (`ORDERS_DATA_DIR`) when there is no URL. Default: in memory. */
  readonly dataDir?: string;
  /** Errors of idle pooled connections. Default: nothing. */
  readonly onError?: (err: unknown) => void;
}

/**
 * PostgreSQL at `databaseUrl` (checked with one query), or PGlite (in `dataDir`, else in memory); an
 * OrdersDatabaseError (WEFT_ERR_ORDERS_DATABASE) naming the setting when it cannot be opened.
 */
export async function openOrdersDatabase(options: OpenOrdersDatabaseOptions): Promise<SqlClient> {
  if (options.databaseUrl) {
    let where = "DATABASE_URL";
    try {
      const hosts = splitPostgresHosts(options.databaseUrl).map((one) => new URL(one));
      where = `DATABASE_URL (${hosts.map((url) => `${url.hostname}:${url.port || 5432}`).join(",")}${hosts[0]!.pathname})`;
    } catch {
      throw new OrdersDatabaseError("DATABASE_URL is not a URL, set DATABASE_URL to e.g. postgres://postgres@127.0.0.1:5432/weft (or several hosts: postgres://postgres@h1:5432,h2:5432/weft)");
    }
    const client = createPostgresClient({ connectionString: options.databaseUrl, onError: options.onError });
    try {
      await client.query("SELECT 1");
    } catch (err) {
      await client.close().catch(() => {});
      throw new OrdersDatabaseError(`PostgreSQL at ${where} did not answer (${causeCode(err)}), set DATABASE_URL to a running server (npm run services starts one) or unset it for the embedded PGlite`);
    }
    return client;
  }
  try {
    return await createPgliteClient({ dataDir: options.dataDir });
  } catch (err) {
    throw new OrdersDatabaseError(`the embedded database could not open ORDERS_DATA_DIR (${(err as Error).message}), set ORDERS_DATA_DIR to a writable directory or unset it`);
  }
}

/** The driver's code of a wrapped error (e.g. ECONNREFUSED, 3D000), never its text. */
function causeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === "string" ? cause.code : "no answer";
}
